#pragma once
// A fixed set of threads running submitted tasks; submit() blocks when the queue is full so a
// huge batch never piles up unbounded work in memory.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fsmirror::engine {

class WorkerPool {
public:
    // Starts `threads` workers (at least one); at most `queue_limit` tasks wait at a time.
    explicit WorkerPool(unsigned threads, std::size_t queue_limit = 1024);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    // Who runs a task that arrives to an empty queue.
    enum class Wake {
        // A worker, at once: for callers that wait for their tasks by other means.
        worker,
        // Nobody yet: it runs with the next task submitted, or in wait_idle, which the caller
        // promises to reach. Waking a worker for the one file of a small batch costs a thread
        // switch and, on a busy machine, a wait for a core (W1's latency tail).
        caller,
    };

    // Queues `task`; blocks while the queue is full. Tasks must not throw.
    void submit(std::function<void()> task, Wake wake = Wake::worker);

    // Returns once every task submitted so far has finished. Runs queued tasks on the calling
    // thread meanwhile, so a batch of one file is copied by the thread that planned it instead
    // of waiting for a worker to be scheduled (on a busy machine, the tail of the latency).
    void wait_idle();

    unsigned size() const { return static_cast<unsigned>(m_threads.size()); }

private:
    void run();

    // Runs the task at the front of the queue with `lock` (on m_mutex) released meanwhile.
    void run_front(std::unique_lock<std::mutex>& lock);

    std::mutex m_mutex;
    std::condition_variable m_work_available;
    std::condition_variable m_space_available;
    std::condition_variable m_idle;
    std::deque<std::function<void()>> m_queue;
    std::size_t m_queue_limit;
    std::size_t m_running = 0;
    bool m_stopping = false;
    std::vector<std::thread> m_threads;
};

} // namespace fsmirror::engine
