#pragma once
// Talks to systemd for Type=notify services (the sd_notify protocol, without libsystemd): READY=1
// once every initial sync is done, WATCHDOG=1 pings while healthy, STATUS= lines. Does nothing when
// NOTIFY_SOCKET is unset.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fsmirror::monitor {

class SystemdNotifier {
public:
    // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from the environment (as
    // sd_notify and sd_watchdog_enabled do). Other socket kinds (vsock:) leave it disabled.
    SystemdNotifier();

    // Returns true when systemd (or a test) listens on NOTIFY_SOCKET.
    bool enabled() const { return m_enabled; }

    // Returns the watchdog timeout systemd expects pings within, nullopt when unset.
    std::optional<std::chrono::microseconds> watchdog_timeout() const { return m_watchdog; }

    void ready(std::string_view status);
    // Asks systemd to wait `more` longer for READY=1 (a long initial sync is progress, not a
    // hang; systemd 236+).
    void extend_start_timeout(std::chrono::microseconds more);
    void reloading();
    void stopping();
    void status(std::string_view status);
    void watchdog();

private:
    void send(const std::string& message);

    bool m_enabled = false;
    std::string m_socket_path; // as NOTIFY_SOCKET says, "@" turned into the abstract '\0'
    std::optional<std::chrono::microseconds> m_watchdog;
};

} // namespace fsmirror::monitor
