#include "monitor/status_board.hpp"

#include <algorithm>
#include <utility>

namespace fsmirror::monitor {

void StatusBoard::publish(SyncStatus status, Urgency urgency) {
    {
        std::lock_guard lock(m_mutex);
        if (std::find(m_order.begin(), m_order.end(), status.name) == m_order.end())
            m_order.push_back(status.name);
        std::string name = status.name;
        m_syncs.insert_or_assign(std::move(name), std::move(status));
        if (urgency == Urgency::significant)
            m_significant = true;
    }
    if (urgency == Urgency::significant)
        m_changed.notify_all();
}

std::vector<SyncStatus> StatusBoard::snapshot() const {
    std::lock_guard lock(m_mutex);
    std::vector<SyncStatus> result;
    result.reserve(m_order.size());
    for (const auto& name : m_order)
        result.push_back(m_syncs.at(name));
    return result;
}

std::size_t StatusBoard::size() const {
    std::lock_guard lock(m_mutex);
    return m_syncs.size();
}

void StatusBoard::clear() {
    std::lock_guard lock(m_mutex);
    m_order.clear();
    m_syncs.clear();
    m_significant = false;
}

bool StatusBoard::wait_for_change(std::chrono::steady_clock::time_point deadline,
                                  std::stop_token stop) {
    std::unique_lock lock(m_mutex);
    m_changed.wait_until(lock, stop, deadline, [this] { return m_significant; });
    return std::exchange(m_significant, false);
}

} // namespace fsmirror::monitor
