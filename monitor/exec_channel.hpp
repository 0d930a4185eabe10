#pragma once
// Runs a command for each notification with the alert as one JSON document on stdin, for
// notifiers fsmirror does not know (chat webhooks, pagers).

#include "monitor/alert_channel.hpp"

#include <string>
#include <vector>

namespace fsmirror::monitor {

class ExecChannel final : public AlertChannel {
public:
    // `command` is run without a shell; argv[0] is looked up in PATH when it has no '/'.
    explicit ExecChannel(std::vector<std::string> command) : m_command(std::move(command)) {}

    base::Status send(const Notification& notification) override;
    std::string describe() const override;

private:
    std::vector<std::string> m_command;
};

} // namespace fsmirror::monitor
