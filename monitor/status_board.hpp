#pragma once
// The latest snapshot of every sync, shared between the sync threads (writers) and the monitor
// thread (reader). A mutex around a map, plus a wake-up for significant changes.

#include "monitor/sync_status.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

namespace fsmirror::monitor {

class StatusBoard final : public SyncReporter {
public:
    void publish(SyncStatus status, Urgency urgency) override;

    // Returns every sync's latest snapshot, in the order they first published.
    std::vector<SyncStatus> snapshot() const;

    // Returns how many syncs have published at least once.
    std::size_t size() const;

    // Forgets every sync (before a reload starts a new set).
    void clear();

    // Waits until a significant publish, `deadline`, or a stop request. Returns true when a
    // significant change arrived (and consumes it).
    bool wait_for_change(std::chrono::steady_clock::time_point deadline, std::stop_token stop);

private:
    mutable std::mutex m_mutex;
    std::condition_variable_any m_changed;
    std::vector<std::string> m_order;
    std::map<std::string, SyncStatus> m_syncs;
    bool m_significant = false;
};

} // namespace fsmirror::monitor
