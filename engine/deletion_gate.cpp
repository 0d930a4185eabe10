#include "engine/deletion_gate.hpp"

#include <limits>

namespace fsmirror::engine {

DeletionGate::DeletionGate(DeletionGateOptions options, ClockFunction clock)
    : m_options(options), m_clock(std::move(clock)) {}

std::uint64_t DeletionGate::count_limit() const {
    return m_options.limits.max_files;
}

std::uint64_t DeletionGate::recent(TimePoint now) {
    while (!m_history.empty() && m_history.front().first + m_options.window <= now)
        m_history.pop_front();
    std::uint64_t total = 0;
    for (const auto& [when, count] : m_history)
        total += count;
    return total;
}

bool DeletionGate::approve(const DeletionPlan& plan) {
    const TimePoint now = m_clock();
    if (m_approve_all) {
        m_history.emplace_back(now, plan.entries);
        return true;
    }
    if (m_paused) {
        hold(plan.paths);
        return false;
    }
    safety::DeletionCounts counts;
    counts.planned = plan.entries;
    counts.recent = recent(now);
    counts.target_entries = plan.target_entries + counts.recent;
    counts.source_root = plan.source_root;
    if (auto verdict = safety::review_deletions(counts, m_options.limits)) {
        m_paused = std::move(verdict);
        hold(plan.paths);
        return false;
    }
    m_history.emplace_back(now, plan.entries);
    return true;
}

void DeletionGate::hold(const std::vector<std::string>& paths) {
    m_held.insert(paths.begin(), paths.end());
}

std::vector<std::string> DeletionGate::resume() {
    std::vector<std::string> paths(m_held.begin(), m_held.end());
    m_held.clear();
    m_paused.reset();
    m_history.clear();
    return paths;
}

} // namespace fsmirror::engine
