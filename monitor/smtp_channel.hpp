#pragma once
// Mail over SMTP with libcurl: smtp:// (optionally upgraded with STARTTLS) or smtps://, with
// optional authentication. No curl type leaves this file's implementation.

#include "monitor/alert_channel.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::monitor {

struct SmtpOptions {
    std::string url; // smtp://host[:port] or smtps://host[:port]
    MailEnvelope envelope;
    std::optional<std::string> username;
    std::optional<std::string> password; // read from a file or the environment, never argv
    bool require_starttls = false;       // smtp:// only: refuse to send without STARTTLS
    std::optional<std::string> ca_file;  // trust this CA bundle instead of the system's
    std::string hostname;                // for the Message-ID
    std::chrono::seconds timeout{30};
};

class SmtpChannel final : public AlertChannel {
public:
    explicit SmtpChannel(SmtpOptions options);

    base::Status send(const Notification& notification) override;
    std::string describe() const override { return "smtp " + m_options.url; }

private:
    SmtpOptions m_options;
    unsigned m_sent = 0;
};

} // namespace fsmirror::monitor
