#include "monitor/systemd_notify.hpp"

#include <cstdint>
#include <cstdlib>
#include <ctime>

#include <systemd/sd-daemon.h>

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

} // namespace

SystemdNotifier::SystemdNotifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    m_enabled = socket != nullptr && socket[0] != '\0';
    std::uint64_t usec = 0;
    if (m_enabled && sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        m_watchdog = std::chrono::microseconds(usec);
}

void SystemdNotifier::send(const std::string& message) {
    if (m_enabled)
        sd_notify(0, message.c_str());
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
