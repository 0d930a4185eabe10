#include "monitor/exec_channel.hpp"

#include "monitor/subprocess.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace fsmirror::monitor {

namespace {

constexpr std::chrono::seconds k_timeout{60};

} // namespace

std::string ExecChannel::describe() const {
    return "exec " + fmt::format("{}", fmt::join(m_command, " "));
}

base::Status ExecChannel::send(const Notification& notification) {
    auto result = run_command(m_command, notification.json + "\n", k_timeout);
    if (!result)
        return std::unexpected(result.error());
    if (result->exit_status != 0)
        return base::fail(base::ErrorKind::transient,
                          fmt::format("{} exited with status {}: {}", m_command.front(),
                                      result->exit_status, result->output));
    return {};
}

} // namespace fsmirror::monitor
