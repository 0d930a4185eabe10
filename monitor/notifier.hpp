#pragma once
// Delivers notifications on its own thread, so a slow or dead mail server never holds up the
// health checks. A failed delivery is logged and retried with growing pauses; it is never
// fatal, and the queue is bounded (the oldest is dropped, with a log line).

#include "base/logger.hpp"
#include "monitor/alert_channel.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fsmirror::monitor {

struct NotifierOptions {
    std::chrono::milliseconds first_retry{30'000}; // doubled after each failure
    std::chrono::milliseconds max_retry{15 * 60'000};
    unsigned max_attempts = 20;   // then the notification is dropped (logged)
    std::size_t max_queued = 100; // per channel
};

class Notifier {
public:
    // Starts the delivery thread. With no channels, submit() only logs.
    Notifier(std::vector<std::unique_ptr<AlertChannel>> channels, NotifierOptions options,
             base::Logger& logger);

    // Stops the thread after the delivery in progress; undelivered notifications are logged.
    ~Notifier();

    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    // Queues `notification` for every channel (thread-safe, returns at once).
    void submit(const Notification& notification);

    // Returns how many deliveries are neither delivered nor given up: queued, waiting for a
    // retry, or being sent now (for tests and status).
    std::size_t pending() const;

    bool has_channels() const { return !m_channels.empty(); }

private:
    struct Delivery {
        std::size_t channel;
        Notification notification;
        unsigned attempts = 0;
        std::chrono::steady_clock::time_point next_try{};
    };

    void run(std::stop_token stop);

    std::vector<std::unique_ptr<AlertChannel>> m_channels;
    NotifierOptions m_options;
    base::Logger& m_logger;
    mutable std::mutex m_mutex;
    std::condition_variable_any m_wake;
    std::deque<Delivery> m_queue;
    std::size_t m_sending = 0; // taken from m_queue, its send under way
    std::jthread m_thread;     // last: started after everything it uses exists
};

} // namespace fsmirror::monitor
