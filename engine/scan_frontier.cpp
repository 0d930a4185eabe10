#include "engine/scan_frontier.hpp"

#include <algorithm>

namespace fsmirror::engine {

void ScanFrontier::add(ScanItem item) {
    if (m_cancelled)
        return;
    m_waiting.push_back(std::move(item));
    m_peak_waiting = std::max(m_peak_waiting, m_waiting.size());
}

std::optional<ScanItem> ScanFrontier::take() {
    if (m_paused || m_cancelled || m_waiting.empty())
        return std::nullopt;
    ScanItem item = std::move(m_waiting.back());
    m_waiting.pop_back();
    ++m_in_progress;
    return item;
}

void ScanFrontier::finish() {
    if (m_in_progress > 0)
        --m_in_progress;
}

void ScanFrontier::resume() {
    m_paused = false;
    ++m_generation;
}

void ScanFrontier::cancel() {
    m_cancelled = true;
    m_waiting.clear();
    m_waiting.shrink_to_fit();
}

} // namespace fsmirror::engine
