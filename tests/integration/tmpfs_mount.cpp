#include "tests/integration/tmpfs_mount.hpp"

#include "tests/integration/monitor_fixture.hpp"

#include <cerrno>
#include <cstring>

#include <catch2/catch.hpp>

#include <sys/mount.h>

namespace fsmirror::integration {

namespace fs = std::filesystem;

TmpfsMount::TmpfsMount(const fs::path& where, const std::string& options)
    : m_where(where), m_options(options) {
    fs::create_directories(where);
    if (::mount("fsmirror-test", where.c_str(), "tmpfs", 0, options.c_str()) != 0) {
        const int err = errno;
        if (err == EPERM || err == EACCES)
            skip_test("cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): " +
                      std::string(std::strerror(err)));
        FAIL("mount tmpfs at " << where.string() << ": " << std::strerror(err));
    }
    m_mounted = true;
}

TmpfsMount::~TmpfsMount() {
    if (m_mounted)
        ::umount2(m_where.c_str(), MNT_DETACH);
}

void TmpfsMount::remount(const std::string& options) {
    const bool read_only =
        options.find("ro") != std::string::npos && options.find("rw") == std::string::npos;
    const unsigned long flags = MS_REMOUNT | (read_only ? MS_RDONLY : 0);
    INFO("remount " << m_where.string() << " " << options << ": " << std::strerror(errno));
    REQUIRE(::mount("fsmirror-test", m_where.c_str(), "tmpfs", flags, nullptr) == 0);
}

void TmpfsMount::unmount() {
    REQUIRE(m_mounted);
    INFO("umount " << m_where.string());
    REQUIRE(::umount2(m_where.c_str(), MNT_DETACH) == 0);
    m_mounted = false;
}

void TmpfsMount::mount_again() {
    REQUIRE_FALSE(m_mounted);
    REQUIRE(::mount("fsmirror-test", m_where.c_str(), "tmpfs", 0, m_options.c_str()) == 0);
    m_mounted = true;
}

} // namespace fsmirror::integration
