// The sd_notify protocol spoken without libsystemd: a real datagram socket in the abstract
// namespace stands in for systemd's, and the environment is set as systemd sets it.

#include "base/unique_fd.hpp"
#include "monitor/systemd_notify.hpp"

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using fsmirror::monitor::SystemdNotifier;

namespace {

// Sets (or, with nullptr, unsets) one variable for a scope and restores it after.
class EnvironmentVariable {
public:
    EnvironmentVariable(const char* name, const char* value) : m_name(name) {
        if (const char* old = std::getenv(name))
            m_old = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~EnvironmentVariable() {
        if (m_old)
            ::setenv(m_name, m_old->c_str(), 1);
        else
            ::unsetenv(m_name);
    }
    EnvironmentVariable(const EnvironmentVariable&) = delete;
    EnvironmentVariable& operator=(const EnvironmentVariable&) = delete;

private:
    const char* m_name;
    std::optional<std::string> m_old;
};

// A datagram socket bound to "\0<name>", returned with the "@<name>" that NOTIFY_SOCKET uses.
fsmirror::base::UniqueFd bind_abstract(const std::string& name) {
    fsmirror::base::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    REQUIRE(fd.valid());
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path + 1, name.data(), name.size());
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) == 0);
    return fd;
}

std::string receive(int fd) {
    char buffer[512];
    ssize_t got = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    return got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : std::string();
}

} // namespace

TEST_CASE("notifications reach an abstract NOTIFY_SOCKET as one datagram each",
          "[monitor][systemd]") {
    const std::string name = "fsmirror-unit-notify-" + std::to_string(::getpid());
    auto socket = bind_abstract(name);
    EnvironmentVariable notify("NOTIFY_SOCKET", ("@" + name).c_str());
    EnvironmentVariable watchdog("WATCHDOG_USEC", nullptr);
    SystemdNotifier notifier;
    REQUIRE(notifier.enabled());
    CHECK_FALSE(notifier.watchdog_timeout());
    notifier.ready("mirroring\nsecond line");
    CHECK(receive(socket.get()) == "READY=1\nSTATUS=mirroring second line");
    notifier.watchdog();
    CHECK(receive(socket.get()) == "WATCHDOG=1");
}

TEST_CASE("the watchdog is ours only when WATCHDOG_PID is unset or names this process",
          "[monitor][systemd]") {
    EnvironmentVariable notify("NOTIFY_SOCKET", "/run/systemd/notify-unit-test");
    EnvironmentVariable usec("WATCHDOG_USEC", "1500000");
    {
        EnvironmentVariable pid("WATCHDOG_PID", nullptr);
        SystemdNotifier notifier;
        REQUIRE(notifier.watchdog_timeout());
        CHECK(notifier.watchdog_timeout()->count() == 1'500'000);
    }
    {
        EnvironmentVariable pid("WATCHDOG_PID", std::to_string(::getpid()).c_str());
        CHECK(SystemdNotifier().watchdog_timeout());
    }
    {
        EnvironmentVariable pid("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str());
        CHECK_FALSE(SystemdNotifier().watchdog_timeout());
    }
    {
        EnvironmentVariable bad("WATCHDOG_USEC", "soon");
        CHECK_FALSE(SystemdNotifier().watchdog_timeout());
    }
}

TEST_CASE("without a usable NOTIFY_SOCKET nothing is sent", "[monitor][systemd]") {
    {
        EnvironmentVariable notify("NOTIFY_SOCKET", nullptr);
        CHECK_FALSE(SystemdNotifier().enabled());
    }
    {
        EnvironmentVariable notify("NOTIFY_SOCKET", "vsock:2:1234");
        CHECK_FALSE(SystemdNotifier().enabled());
    }
}
