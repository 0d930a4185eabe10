#pragma once
// A tmpfs mounted for one test and lazily unmounted when the test ends, for faults only a real
// mount can produce (read-only, full, vanished). Needs CAP_SYS_ADMIN.

#include <filesystem>
#include <optional>
#include <string>

namespace fsmirror::test_support {

class ScopedMount {
public:
    // Mounts a tmpfs with `options` (e.g. "size=1m") on `mount_point`, which must exist.
    // Returns nullopt and sets `why` when the machine does not allow it.
    static std::optional<ScopedMount> tmpfs(const std::filesystem::path& mount_point,
                                            const std::string& options, std::string* why);

    // Bind-mounts the directory `from` on `mount_point`: the same file system (same device
    // and root inode) appears there, so unmounting and binding again brings back exactly what
    // was there, as remounting a real volume would. Returns nullopt and sets `why` on failure.
    static std::optional<ScopedMount> bind(const std::filesystem::path& from,
                                           const std::filesystem::path& mount_point,
                                           std::string* why);

    ScopedMount(ScopedMount&& other) noexcept;
    ScopedMount& operator=(ScopedMount&&) = delete;
    ScopedMount(const ScopedMount&) = delete;
    ScopedMount& operator=(const ScopedMount&) = delete;
    // Detaches the mount (MNT_DETACH), so it goes even while a daemon still holds files in it.
    ~ScopedMount();

    // Remounts read-only or read-write. Returns false (with errno) on failure.
    bool set_read_only(bool read_only);

    // Remounts a tmpfs with new `options` (e.g. "size=32m" to give a full one room). Returns
    // false (with errno) on failure.
    bool remount(const std::string& options);

    // Detaches the mount now (umount -l), leaving the bare mount point behind.
    void unmount();

    const std::filesystem::path& path() const { return m_path; }

private:
    explicit ScopedMount(std::filesystem::path path) : m_path(std::move(path)) {}

    std::filesystem::path m_path;
    bool m_mounted = true;
};

} // namespace fsmirror::test_support
