#pragma once
// Turns the alerts of each health check into notification decisions: at most one mail per
// alert kind per window (with a count of what was held back), an immediate one when a kind
// gets worse, and a recovery notice when a kind that was mailed about clears. Pure: callers
// pass `now`.

#include "monitor/health_checks.hpp"

#include <chrono>
#include <map>
#include <vector>

namespace fsmirror::monitor {

// An alert kind that cleared after it had been notified.
struct Recovery {
    AlertKind kind = AlertKind::daemon;
    std::chrono::seconds lasted{0}; // from first seen to cleared
    unsigned suppressed = 0;        // checks that saw it after the last mail, without a mail
    std::vector<Alert> last_alerts; // what the last check that saw it said
};

struct AlertDecision {
    // The alerts of every kind due a notification now (new, worse, or past the window).
    std::vector<Alert> due;
    // Every current alert, due or not, for the "also still failing" part of a mail.
    std::vector<Alert> current;
    // For each due kind: how many checks saw it since its last mail without notifying.
    std::map<AlertKind, unsigned> suppressed;
    std::vector<Recovery> recovered;

    bool notify() const { return !due.empty(); }
};

class AlertLimiter {
public:
    // `window`: the least time between two mails about the same kind.
    explicit AlertLimiter(std::chrono::seconds window);

    // Feeds the result of one health check. Returns what to notify.
    AlertDecision update(const std::vector<Alert>& current, WallTime now);

    // Returns how many checks have been held back for `kind` since its last mail.
    unsigned suppressed(AlertKind kind) const;

private:
    struct KindState {
        bool active = false;
        WallTime since{};
        std::optional<WallTime> last_sent;
        Severity sent_severity = Severity::ok; // in this episode; ok when nothing was sent
        unsigned suppressed = 0;
        std::vector<Alert> last_alerts;
    };

    std::chrono::seconds m_window;
    std::map<AlertKind, KindState> m_kinds;
};

} // namespace fsmirror::monitor
