#pragma once
// Helpers for the safety integration tests: a tmpfs mounted for the test's lifetime, and a
// fingerprint of a tree that notices any change of bytes, mode, mtime or link target.

#include <filesystem>
#include <map>
#include <string>

namespace fsmirror::integration {

// Mounts a fresh tmpfs at `path` (which must exist) and unmounts it (lazily) when destroyed.
// Exits the test with status 4 (skipped), saying why, where mounting is impossible (no
// CAP_SYS_ADMIN, a seccomp filter).
class TmpfsMount {
public:
    explicit TmpfsMount(std::filesystem::path path, const std::string& options = "size=64m");
    ~TmpfsMount();
    TmpfsMount(const TmpfsMount&) = delete;
    TmpfsMount& operator=(const TmpfsMount&) = delete;

    // Detaches the mount now (umount -l: works while the daemon holds descriptors in it).
    void unmount();

private:
    std::filesystem::path m_path;
    bool m_mounted = false;
};

// Returns path -> "type size mode mtime_ns content-or-link" for every entry below `root`
// (the root's own attributes under ""), so two fingerprints are equal only when the trees
// are byte- and mtime-identical.
std::map<std::string, std::string> fingerprint(const std::filesystem::path& root);

// Returns the entries whose fingerprints differ, one line each, for failure messages.
std::string fingerprint_changes(const std::map<std::string, std::string>& before,
                                const std::map<std::string, std::string>& after);

} // namespace fsmirror::integration
