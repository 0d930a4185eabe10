#pragma once
// What the SSH integration tests share: a directory for the real sshd (tests/support/
// sshd_server.hpp) beside a fixture's trees, and the command-line flags that point fsmirror at
// a directory through that server.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/sshd_server.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace fsmirror::integration {

// Returns <fixture root>/sshd, created: where the server's keys, config and log live.
std::filesystem::path sshd_directory(const MirrorFixture& fixture);

// Returns the flags that make `remote_directory` the target through `sshd`: --target, the
// client key, the server's known_hosts and the agent path (the binary under test by default;
// a path that does not exist makes the transport fall back to SFTP).
std::vector<std::string> ssh_flags(const test_support::SshdServer& sshd,
                                   const std::filesystem::path& remote_directory,
                                   const std::string& agent_path = fsmirror_binary().string());

// Returns `a` followed by `b`.
std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b);

} // namespace fsmirror::integration
