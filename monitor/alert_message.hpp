#pragma once
// The text of alert and recovery notifications: a mail (subject, body, RFC 5322 headers) and
// the JSON document given to exec channels. Pure: everything comes in through AlertContext.

#include "monitor/alert_limiter.hpp"
#include "monitor/status_report.hpp"

#include <string>
#include <vector>

namespace fsmirror::monitor {

// What a notification says besides the alerts themselves.
struct AlertContext {
    std::string hostname;
    StatusReport status;                 // service state and disk usage
    std::vector<std::string> recent_log; // the last log lines, oldest first
    std::optional<std::string> status_file;
    std::optional<std::string> config_file;
};

struct Notification {
    enum class Type { alert, recovery };
    Type type = Type::alert;
    std::string subject;
    std::string body; // plain text, '\n' line ends
    std::string json; // the same as one JSON document, for exec channels
};

// Returns the mail for a decision with due alerts:
// "[ALERT] fsmirror health check failed on {hostname}".
Notification compose_alert(const AlertDecision& decision, const AlertContext& context);

// Returns the mail for the kinds that recovered (decision.recovered must not be empty):
// "[RESOLVED] fsmirror health check recovered on {hostname}" (or "... partly recovered ..."
// while other alerts remain).
Notification compose_recovery(const AlertDecision& decision, const AlertContext& context);

struct MailEnvelope {
    std::string from;
    std::vector<std::string> to;
};

// Returns the message as sent over SMTP: headers (From, To, Subject, Date, Message-ID,
// MIME-Version, Content-Type text/plain UTF-8, Auto-Submitted), a blank line and the body,
// with CRLF line ends. `message_id` is used as given, without the angle brackets.
std::string format_mail(const Notification& notification, const MailEnvelope& envelope,
                        WallTime date, const std::string& message_id);

// Returns an RFC 5322 date ("Sun, 22 Nov 2026 16:55:01 +0100") in local time.
std::string rfc5322_date(WallTime time);

} // namespace fsmirror::monitor
