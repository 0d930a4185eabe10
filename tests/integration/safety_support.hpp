#pragma once
// Helpers for the safety integration tests: a tmpfs mount (tmpfs_mount.hpp), the verify
// runner, and a fingerprint of a tree that notices any change of bytes, mode, mtime or link target.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/tmpfs_mount.hpp"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace fsmirror::integration {

// Runs `fsmirror verify --source <source> --target <target> <extra...>` on the fixture's pair
// and returns its exit status and output.
CommandRun run_verify(MirrorFixture& mirror, const std::vector<std::string>& extra = {});

// Returns path -> "type size mode mtime_ns content-or-link" for every entry below `root`
// (the root's own attributes under ""), so two fingerprints are equal only when the trees
// are byte- and mtime-identical.
std::map<std::string, std::string> fingerprint(const std::filesystem::path& root);

// Returns the entries whose fingerprints differ, one line each, for failure messages.
std::string fingerprint_changes(const std::map<std::string, std::string>& before,
                                const std::map<std::string, std::string>& after);

} // namespace fsmirror::integration
