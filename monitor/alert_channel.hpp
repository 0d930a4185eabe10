#pragma once
// Somewhere a notification can be delivered: SMTP, a sendmail-compatible command, or any
// command that reads the alert as JSON.

#include "base/error.hpp"
#include "monitor/alert_message.hpp"

#include <string>

namespace fsmirror::monitor {

class AlertChannel {
public:
    virtual ~AlertChannel() = default;

    // Delivers one notification. Returns the reason on failure; the caller retries later.
    virtual base::Status send(const Notification& notification) = 0;

    // Returns a short name for logs: "smtp smtp://mail.example.com:587", "exec /usr/bin/x".
    virtual std::string describe() const = 0;
};

} // namespace fsmirror::monitor
