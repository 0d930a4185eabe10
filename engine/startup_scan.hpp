#pragma once
// The initial comparison of a whole tree, streamed: a few threads each take one directory at
// a time from a ScanFrontier, list it on both sides, act on TreeMirror's plan for it (make
// subdirectories, hand transfers to the worker pool, set attributes) and queue its
// subdirectories. Nothing holds a listing of a whole tree: memory is bounded by the tree's
// depth and width. Meanwhile the session keeps reading events and, to run a batch of live
// changes, pauses the scan: pause() returns once no directory is being compared and no
// transfer of the scan is in flight, so a live change is never applied in the middle of a
// comparison, and every comparison that starts later lists what the live batch left. Paths are
// resolved again for every directory (no descriptors carried from parent to child): a
// directory renamed by a live change is then looked for under its old name on both sides,
// found on neither, and left to the move's own comparison.
//
// What exists only on the target is not deleted here: it is collected (only the top entry of
// a target-only subtree; memory grows with these, not with the tree), and the session runs
// the deletions as one batch after the scan, under the mass-delete guard, looking at the
// source again for each.

#include "base/logger.hpp"
#include "engine/scan_frontier.hpp"
#include "engine/source_tree.hpp"
#include "engine/tree_mirror.hpp"
#include "engine/worker_pool.hpp"
#include "transport/transport.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fsmirror::engine {

struct StartupScanOptions {
    unsigned threads = 2; // directories compared at once
    // Whether target-only entries are collected for deletion (the delete policy at startup).
    bool collect_extras = true;
    // Called (on one of the scan's threads) once the scan has finished; may be null.
    std::function<void()> on_finished;
};

// What the scan did since the last take_report(), for the session's thread.
struct ScanReport {
    std::vector<FailedChange> failed; // to be retried
    std::vector<Change> vanished;     // gone from the source while sent: an event follows
    std::vector<SnapshotLanded> snapshots;
};

struct ScanTotals {
    std::uint64_t directories = 0;    // compared
    std::uint64_t target_entries = 0; // listed on the target (the marker not counted)
    std::uint64_t created = 0;        // entries the scan made where the target had none
    std::size_t peak_waiting = 0;     // directories that waited at once, at most
};

class StartupScan {
public:
    StartupScan(SourceTree& source, transport::Transport& target, TreeMirror& mirror,
                WorkerPool& pool, base::Logger& logger, StartupScanOptions options);
    // Cancels and joins the threads.
    ~StartupScan();
    StartupScan(const StartupScan&) = delete;
    StartupScan& operator=(const StartupScan&) = delete;

    // Starts the threads at the root. Returns the error when the source root cannot be read
    // or the target root cannot be made.
    base::Status start();

    // Returns once no directory is being compared and no transfer the scan handed out is in
    // flight; no new directory is started until resume(). Called by the session's thread only.
    void pause();
    void resume();

    // Drops what is left to compare; the directories in progress finish.
    void cancel();

    // True once every directory has been compared and every transfer has finished.
    bool finished();
    // Blocks until finished().
    void wait();

    // Returns (and forgets) the failures, vanished paths and snapshots since the last call.
    ScanReport take_report();
    // Returns the target-only entries found (sorted), once finished.
    std::vector<std::string> take_extras();
    ScanTotals totals();

private:
    struct DirectoryWork;

    void run_thread();
    void compare(const ScanItem& item);
    void send(const std::string& path, const PlannedLeaf& leaf,
              const std::shared_ptr<DirectoryWork>& work);
    // Called once a directory's own comparison and its transfers are all done.
    void finish_directory(const DirectoryWork& work);
    void fail(const std::string& path, ChangeKind kind, base::Error error);
    void notify_finished(); // the caller holds m_mutex

    SourceTree& m_source;
    transport::Transport& m_target;
    TreeMirror& m_mirror;
    WorkerPool& m_pool;
    base::Logger& m_logger;
    StartupScanOptions m_options;

    std::mutex m_mutex; // guards everything below but the threads
    std::condition_variable m_changed;
    ScanFrontier m_frontier;
    std::atomic<std::uint64_t> m_transfers_in_flight{0};
    std::atomic<std::uint64_t> m_created{0};
    bool m_stopping = false;
    ScanReport m_report;
    std::vector<std::string> m_extras;
    ScanTotals m_totals;
    std::vector<std::thread> m_threads;
};

} // namespace fsmirror::engine
