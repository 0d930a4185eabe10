#include "monitor/notifier.hpp"

#include <algorithm>

namespace fsmirror::monitor {

Notifier::Notifier(std::vector<std::unique_ptr<AlertChannel>> channels, NotifierOptions options,
                   base::Logger& logger)
    : m_channels(std::move(channels)), m_options(options), m_logger(logger),
      m_thread([this](std::stop_token stop) { run(stop); }) {}

Notifier::~Notifier() {
    m_thread.request_stop();
    m_wake.notify_all();
    if (m_thread.joinable())
        m_thread.join();
    for (const auto& delivery : m_queue)
        m_logger.warning("alert \"{}\" was never delivered via {} (stopping)",
                         delivery.notification.subject, m_channels[delivery.channel]->describe());
}

void Notifier::submit(const Notification& notification) {
    if (m_channels.empty()) {
        m_logger.debug("no alert channel configured; not sending \"{}\"", notification.subject);
        return;
    }
    {
        std::lock_guard lock(m_mutex);
        for (std::size_t channel = 0; channel < m_channels.size(); ++channel) {
            const auto queued = std::count_if(m_queue.begin(), m_queue.end(),
                                              [&](const auto& d) { return d.channel == channel; });
            if (static_cast<std::size_t>(queued) >= m_options.max_queued) {
                auto oldest = std::find_if(m_queue.begin(), m_queue.end(),
                                           [&](const auto& d) { return d.channel == channel; });
                m_logger.error("alert queue for {} is full; dropping \"{}\"",
                               m_channels[channel]->describe(), oldest->notification.subject);
                m_queue.erase(oldest);
            }
            m_queue.push_back(Delivery{channel, notification, 0, {}});
        }
    }
    m_wake.notify_all();
}

std::size_t Notifier::pending() const {
    std::lock_guard lock(m_mutex);
    return m_queue.size() + m_sending;
}

void Notifier::run(std::stop_token stop) {
    std::unique_lock lock(m_mutex);
    while (!stop.stop_requested()) {
        const auto now = std::chrono::steady_clock::now();
        auto due = std::find_if(m_queue.begin(), m_queue.end(),
                                [&](const Delivery& d) { return d.next_try <= now; });
        if (due == m_queue.end()) {
            // Until the earliest retry, or a new submission (due at once), or stop.
            auto next = std::chrono::steady_clock::time_point::max();
            for (const auto& delivery : m_queue)
                next = std::min(next, delivery.next_try);
            const auto any_due = [this] {
                const auto at = std::chrono::steady_clock::now();
                return std::any_of(m_queue.begin(), m_queue.end(),
                                   [&](const Delivery& d) { return d.next_try <= at; });
            };
            if (next == std::chrono::steady_clock::time_point::max())
                m_wake.wait(lock, stop, any_due);
            else
                m_wake.wait_until(lock, stop, next, any_due);
            continue;
        }
        Delivery delivery = std::move(*due);
        m_queue.erase(due);
        AlertChannel& channel = *m_channels[delivery.channel];
        ++m_sending;
        lock.unlock();
        const auto sent = channel.send(delivery.notification);
        lock.lock();
        --m_sending;
        ++delivery.attempts;
        if (sent) {
            m_logger.info("alert \"{}\" sent via {}", delivery.notification.subject,
                          channel.describe());
            continue;
        }
        if (delivery.attempts >= m_options.max_attempts) {
            m_logger.error("giving up on alert \"{}\" via {} after {} attempts: {}",
                           delivery.notification.subject, channel.describe(), delivery.attempts,
                           sent.error().message);
            continue;
        }
        auto pause = m_options.first_retry * (1u << std::min(delivery.attempts - 1, 16u));
        pause = std::min(pause, m_options.max_retry);
        m_logger.warning("cannot send alert \"{}\" via {} (attempt {}): {}; retrying in {} s",
                         delivery.notification.subject, channel.describe(), delivery.attempts,
                         sent.error().message,
                         std::chrono::duration_cast<std::chrono::seconds>(pause).count());
        delivery.next_try = std::chrono::steady_clock::now() + pause;
        m_queue.push_back(std::move(delivery));
    }
}

} // namespace fsmirror::monitor
