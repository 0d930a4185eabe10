#include "monitor/sendmail_channel.hpp"

#include "monitor/subprocess.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <unistd.h>

namespace fsmirror::monitor {

namespace {

constexpr std::chrono::seconds k_timeout{60};

// sendmail reads "\n"-terminated lines; CRLF is for the SMTP wire.
std::string unix_line_ends(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text)
        if (c != '\r')
            out += c;
    return out;
}

} // namespace

std::string SendmailChannel::describe() const {
    return "sendmail " + fmt::format("{}", fmt::join(m_options.command, " "));
}

base::Status SendmailChannel::send(const Notification& notification) {
    const auto now = WallClock::now();
    const std::string message_id = fmt::format(
        "fsmirror.{}.{}.{}@{}",
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count(),
        ::getpid(), ++m_sent, m_options.hostname);
    const std::string message =
        unix_line_ends(format_mail(notification, m_options.envelope, now, message_id));
    auto result = run_command(m_options.command, message, k_timeout);
    if (!result)
        return std::unexpected(result.error());
    if (result->exit_status != 0)
        return base::fail(base::ErrorKind::transient,
                          fmt::format("{} exited with status {}: {}", m_options.command.front(),
                                      result->exit_status, result->output));
    return {};
}

} // namespace fsmirror::monitor
