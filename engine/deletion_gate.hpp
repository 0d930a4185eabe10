#pragma once
// The session's mass-delete guard: reviews each batch's planned deletions with the pure
// predicate safety::review_deletions, counting the deletions of a recent window too (a large
// `rm -rf` reaches the daemon as many batches of max_delays paths). Once it fires, the gate is
// *paused*: every deletion is held, everything else keeps being mirrored, until the operator
// resumes. Single-threaded (the session's thread); the clock is passed in, so tests step it.

#include "engine/pending_changes.hpp"
#include "engine/tree_mirror.hpp"
#include "safety/deletion_guard.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fsmirror::engine {

struct DeletionGateOptions {
    safety::DeletionGuardLimits limits;
    // Deletions this recent count against the limits together with the batch's own.
    std::chrono::nanoseconds window{std::chrono::seconds(60)};
};

class DeletionGate final : public DeletionReviewer {
public:
    using ClockFunction = std::function<TimePoint()>;

    explicit DeletionGate(DeletionGateOptions options, ClockFunction clock = Clock::now);

    // DeletionReviewer: approves, or holds the plan's paths and pauses.
    bool approve(const DeletionPlan& plan) override;
    std::uint64_t count_limit() const override;

    // Approve everything until the matching end (the operator's --allow-mass-delete for the
    // initial sync, or the replay of held deletions after a resume).
    void approve_all(bool on) { m_approve_all = on; }

    // Returns why deletions are paused, nullopt while they are not.
    const std::optional<safety::GuardVerdict>& paused() const { return m_paused; }

    // Returns the paths held since the pause began.
    const std::set<std::string>& held() const { return m_held; }

    // Adds paths held by a batch (those approve() declined), e.g. when replayed again.
    void hold(const std::vector<std::string>& paths);

    // Ends the pause: returns the held paths (to be replayed with approve_all) and forgets the
    // window, since the operator has seen and accepted these deletions.
    std::vector<std::string> resume();

private:
    std::uint64_t recent(TimePoint now);

    DeletionGateOptions m_options;
    ClockFunction m_clock;
    bool m_approve_all = false;
    std::optional<safety::GuardVerdict> m_paused;
    std::set<std::string> m_held;
    std::deque<std::pair<TimePoint, std::uint64_t>> m_history; // approved deletions
};

} // namespace fsmirror::engine
