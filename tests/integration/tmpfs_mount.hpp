#pragma once
// A tmpfs mounted for a test's lifetime: small ones fill up on demand, and unmounting one is a
// volume vanishing under the daemon. Needs root or CAP_SYS_ADMIN; without it the test is
// skipped (exit 4) with the reason.

#include <filesystem>
#include <string>

namespace fsmirror::integration {

class TmpfsMount {
public:
    // Creates `where` if needed and mounts a fresh tmpfs there with `options`.
    explicit TmpfsMount(const std::filesystem::path& where,
                        const std::string& options = "size=64m");
    ~TmpfsMount(); // lazy unmount, if still mounted
    TmpfsMount(const TmpfsMount&) = delete;
    TmpfsMount& operator=(const TmpfsMount&) = delete;

    // Remounts with other options ("remount,rw"). REQUIREs success.
    void remount(const std::string& options);
    // Unmounts now (lazily, so open handles do not block it). REQUIREs success.
    void unmount();
    // Mounts again after unmount(). REQUIREs success.
    void mount_again();

private:
    std::filesystem::path m_where;
    std::string m_options;
    bool m_mounted = false;
};

} // namespace fsmirror::integration
