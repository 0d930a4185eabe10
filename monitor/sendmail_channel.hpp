#pragma once
// Mail handed to a sendmail-compatible command (msmtp, as today's deployments use, or
// /usr/sbin/sendmail): the whole message on stdin, recipients read from its headers (-t).

#include "monitor/alert_channel.hpp"

#include <string>
#include <vector>

namespace fsmirror::monitor {

struct SendmailOptions {
    std::vector<std::string> command; // e.g. {"/usr/bin/msmtp", "-t"}; run without a shell
    MailEnvelope envelope;
    std::string hostname; // for the Message-ID
};

class SendmailChannel final : public AlertChannel {
public:
    explicit SendmailChannel(SendmailOptions options) : m_options(std::move(options)) {}

    base::Status send(const Notification& notification) override;
    std::string describe() const override;

private:
    SendmailOptions m_options;
    unsigned m_sent = 0;
};

} // namespace fsmirror::monitor
