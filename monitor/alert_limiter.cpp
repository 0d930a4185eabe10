#include "monitor/alert_limiter.hpp"

namespace fsmirror::monitor {

AlertLimiter::AlertLimiter(std::chrono::seconds window) : m_window(window) {}

unsigned AlertLimiter::suppressed(AlertKind kind) const {
    auto found = m_kinds.find(kind);
    return found == m_kinds.end() ? 0 : found->second.suppressed;
}

AlertDecision AlertLimiter::update(const std::vector<Alert>& current, WallTime now) {
    AlertDecision decision;
    decision.current = current;

    std::map<AlertKind, std::vector<Alert>> by_kind;
    for (const auto& alert : current)
        by_kind[alert.kind].push_back(alert);

    for (auto& [kind, alerts] : by_kind) {
        KindState& state = m_kinds[kind];
        const Severity severity = worst_severity(alerts);
        if (!state.active) {
            state.active = true;
            state.since = now;
            state.sent_severity = Severity::ok;
        }
        const bool window_passed = !state.last_sent || now - *state.last_sent >= m_window;
        const bool worse = state.sent_severity != Severity::ok && severity > state.sent_severity;
        if (window_passed || worse) {
            decision.due.insert(decision.due.end(), alerts.begin(), alerts.end());
            decision.suppressed[kind] = state.suppressed;
            state.suppressed = 0;
            state.last_sent = now;
            state.sent_severity = std::max(state.sent_severity, severity);
        } else {
            ++state.suppressed;
        }
        state.last_alerts = std::move(alerts);
    }

    for (auto& [kind, state] : m_kinds) {
        if (!state.active || by_kind.contains(kind))
            continue;
        state.active = false;
        if (state.sent_severity == Severity::ok)
            continue; // never mailed about in this episode: its count goes into the next mail
        decision.recovered.push_back(
            Recovery{kind, std::chrono::duration_cast<std::chrono::seconds>(now - state.since),
                     state.suppressed, state.last_alerts});
        state.suppressed = 0;
        state.sent_severity = Severity::ok;
    }
    return decision;
}

} // namespace fsmirror::monitor
