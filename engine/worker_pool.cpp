#include "engine/worker_pool.hpp"

namespace fsmirror::engine {

WorkerPool::WorkerPool(unsigned threads, std::size_t queue_limit)
    : m_queue_limit(queue_limit == 0 ? 1 : queue_limit) {
    if (threads == 0)
        threads = 1;
    m_threads.reserve(threads);
    for (unsigned i = 0; i < threads; ++i)
        m_threads.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_work_available.notify_all();
    for (auto& thread : m_threads)
        thread.join();
}

void WorkerPool::submit(std::function<void()> task, Wake wake) {
    std::unique_lock lock(m_mutex);
    if (m_queue.size() >= m_queue_limit) {
        m_work_available.notify_all(); // the queue's first task may not have woken anyone
        m_space_available.wait(lock, [this] { return m_queue.size() < m_queue_limit; });
    }
    // With Wake::caller the next task wakes a worker, which takes this one first.
    const bool left_to_caller = wake == Wake::caller && m_queue.empty();
    m_queue.push_back(std::move(task));
    lock.unlock();
    if (!left_to_caller)
        m_work_available.notify_one();
}

void WorkerPool::wait_idle() {
    std::unique_lock lock(m_mutex);
    for (;;) {
        if (!m_queue.empty()) {
            run_front(lock);
            continue;
        }
        if (m_running == 0)
            return;
        m_idle.wait(lock, [this] { return m_running == 0; });
    }
}

void WorkerPool::run_front(std::unique_lock<std::mutex>& lock) {
    std::function<void()> task = std::move(m_queue.front());
    m_queue.pop_front();
    ++m_running;
    lock.unlock();
    m_space_available.notify_one();
    task();
    lock.lock();
    --m_running;
    if (m_queue.empty() && m_running == 0)
        m_idle.notify_all();
}

void WorkerPool::run() {
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_work_available.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
        if (m_queue.empty())
            return;
        run_front(lock);
    }
}

} // namespace fsmirror::engine
