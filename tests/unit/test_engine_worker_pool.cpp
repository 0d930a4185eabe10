// WorkerPool: tasks run, wait_idle waits for all of them, and the waiting thread lends a hand.

#include "engine/worker_pool.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

using namespace fsmirror::engine;
using namespace std::chrono_literals;

TEST_CASE("wait_idle returns after every submitted task has run", "[engine][worker_pool]") {
    WorkerPool pool{2, 4};
    std::atomic<int> done{0};
    for (int i = 0; i < 100; ++i)
        pool.submit([&] { done.fetch_add(1); });
    pool.wait_idle();
    CHECK(done.load() == 100);
}

TEST_CASE("wait_idle runs queued tasks on the waiting thread while the workers are busy",
          "[engine][worker_pool]") {
    WorkerPool pool{1};
    std::mutex mutex;
    std::condition_variable changed;
    bool first_running = false;
    bool second_done = false;
    std::thread::id second_ran_on;

    // The only worker waits for the second task, which can then run only on the thread
    // that waits for the pool (or, without that, after this task gives up).
    pool.submit([&] {
        std::unique_lock lock(mutex);
        first_running = true;
        changed.notify_all();
        changed.wait_for(lock, 5s, [&] { return second_done; });
    });
    pool.submit([] {}); // wakes the worker, which takes the first task
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return first_running; });
    }
    pool.submit([&] {
        std::lock_guard lock(mutex);
        second_ran_on = std::this_thread::get_id();
        second_done = true;
        changed.notify_all();
    });
    pool.wait_idle();
    CHECK(second_ran_on == std::this_thread::get_id());
}

TEST_CASE("a queue limit of one still makes progress", "[engine][worker_pool]") {
    WorkerPool pool{1, 1};
    std::atomic<int> done{0};
    for (int i = 0; i < 20; ++i)
        pool.submit([&] { done.fetch_add(1); });
    pool.wait_idle();
    CHECK(done.load() == 20);
}

TEST_CASE("a task alone left to the caller runs on the waiting thread", "[engine][worker_pool]") {
    WorkerPool pool{2};
    std::thread::id ran_on;
    pool.submit([&] { ran_on = std::this_thread::get_id(); }, WorkerPool::Wake::caller);
    pool.wait_idle();
    CHECK(ran_on == std::this_thread::get_id());
}

TEST_CASE("a task alone runs on a worker by default, without wait_idle", "[engine][worker_pool]") {
    // The startup scan waits for its transfers by counting them, never in wait_idle.
    WorkerPool pool{2};
    std::mutex mutex;
    std::condition_variable changed;
    bool ran = false;
    std::thread::id ran_on;
    pool.submit([&] {
        std::lock_guard lock(mutex);
        ran = true;
        ran_on = std::this_thread::get_id();
        changed.notify_all();
    });
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, 10s, [&] { return ran; }));
    CHECK(ran_on != std::this_thread::get_id());
}
