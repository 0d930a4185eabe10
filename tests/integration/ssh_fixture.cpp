#include "tests/integration/ssh_fixture.hpp"

namespace fsmirror::integration {

namespace fs = std::filesystem;

fs::path sshd_directory(const MirrorFixture& fixture) {
    fs::path directory = fixture.root() / "sshd";
    fs::create_directories(directory);
    return directory;
}

std::vector<std::string> ssh_flags(const test_support::SshdServer& sshd,
                                   const fs::path& remote_directory,
                                   const std::string& agent_path) {
    return {
        "--target",      sshd.target(remote_directory), "--identity",   sshd.client_key().string(),
        "--known-hosts", sshd.known_hosts().string(),   "--agent-path", agent_path};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace fsmirror::integration
