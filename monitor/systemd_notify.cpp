#include "monitor/systemd_notify.hpp"

#include "base/unique_fd.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace fsmirror::monitor {

namespace {

// STATUS= is one line.
std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c == '\n')
            c = ' ';
    return out;
}

std::optional<std::uint64_t> environment_number(const char* name) {
    const char* text = std::getenv(name);
    if (!text || !*text)
        return std::nullopt;
    std::uint64_t value = 0;
    const char* end = text + std::strlen(text);
    auto [stop, error] = std::from_chars(text, end, value);
    if (error != std::errc() || stop != end)
        return std::nullopt;
    return value;
}

// sd_watchdog_enabled(): WATCHDOG_USEC, unless WATCHDOG_PID names another process (a child
// that inherited the environment must not ping for its parent).
std::optional<std::chrono::microseconds> watchdog_from_environment() {
    auto usec = environment_number("WATCHDOG_USEC");
    if (!usec || *usec == 0)
        return std::nullopt;
    if (auto pid = environment_number("WATCHDOG_PID");
        pid && *pid != static_cast<std::uint64_t>(::getpid()))
        return std::nullopt;
    return std::chrono::microseconds(*usec);
}

} // namespace

// The notify protocol is systemd's documented, stable interface (sd_notify(3), "NOTES"): one
// datagram on the AF_UNIX socket NOTIFY_SOCKET names, a path or "@" for the abstract
// namespace. Speaking it directly spares every daemon libsystemd and the six compression and
// crypto libraries it loads, for two calls.
SystemdNotifier::SystemdNotifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    if (socket && (socket[0] == '/' || socket[0] == '@') &&
        std::strlen(socket) < sizeof(sockaddr_un::sun_path)) {
        m_socket_path = socket;
        if (m_socket_path[0] == '@')
            m_socket_path[0] = '\0';
        m_enabled = true;
    }
    if (m_enabled)
        m_watchdog = watchdog_from_environment();
}

void SystemdNotifier::send(const std::string& message) {
    if (!m_enabled)
        return;
    base::UniqueFd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd.valid())
        return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, m_socket_path.data(), m_socket_path.size());
    const auto length =
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + m_socket_path.size());
    // Best effort, as sd_notify: a manager that is gone or busy is not the daemon's failure.
    [[maybe_unused]] auto sent = ::sendto(fd.get(), message.data(), message.size(), MSG_NOSIGNAL,
                                          reinterpret_cast<const sockaddr*>(&address), length);
}

void SystemdNotifier::ready(std::string_view status) {
    send("READY=1\nSTATUS=" + one_line(status));
}

void SystemdNotifier::extend_start_timeout(std::chrono::microseconds more) {
    send("EXTEND_TIMEOUT_USEC=" + std::to_string(more.count()));
}

void SystemdNotifier::reloading() {
    // systemd 253+ wants MONOTONIC_USEC with RELOADING=1; older versions ignore it.
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const auto usec = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000u +
                      static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::stopping() {
    send("STOPPING=1");
}

void SystemdNotifier::status(std::string_view status) {
    send("STATUS=" + one_line(status));
}

void SystemdNotifier::watchdog() {
    send("WATCHDOG=1");
}

} // namespace fsmirror::monitor
