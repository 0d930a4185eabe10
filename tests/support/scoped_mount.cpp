#include "tests/support/scoped_mount.hpp"

#include <cerrno>
#include <cstring>

#include <sys/mount.h>

namespace fsmirror::test_support {

std::optional<ScopedMount> ScopedMount::tmpfs(const std::filesystem::path& mount_point,
                                              const std::string& options, std::string* why) {
    if (::mount("tmpfs", mount_point.c_str(), "tmpfs", 0, options.c_str()) != 0) {
        if (why)
            *why = "cannot mount a tmpfs on " + mount_point.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    return ScopedMount(mount_point);
}

std::optional<ScopedMount> ScopedMount::bind(const std::filesystem::path& from,
                                             const std::filesystem::path& mount_point,
                                             std::string* why) {
    if (::mount(from.c_str(), mount_point.c_str(), nullptr, MS_BIND, nullptr) != 0) {
        if (why)
            *why = "cannot bind-mount " + from.string() + " on " + mount_point.string() + ": " +
                   std::strerror(errno);
        return std::nullopt;
    }
    return ScopedMount(mount_point);
}

ScopedMount::ScopedMount(ScopedMount&& other) noexcept
    : m_path(std::move(other.m_path)), m_mounted(other.m_mounted) {
    other.m_mounted = false;
}

ScopedMount::~ScopedMount() {
    if (m_mounted)
        ::umount2(m_path.c_str(), MNT_DETACH);
}

bool ScopedMount::remount(const std::string& options) {
    return ::mount("tmpfs", m_path.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
}

void ScopedMount::unmount() {
    if (m_mounted)
        ::umount2(m_path.c_str(), MNT_DETACH);
    m_mounted = false;
}

bool ScopedMount::set_read_only(bool read_only) {
    unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    return ::mount("tmpfs", m_path.c_str(), "tmpfs", flags, nullptr) == 0;
}

} // namespace fsmirror::test_support
