#pragma once
// One source -> target pair: its event source, batching queue, transfers and retries, the
// mass-delete guard and periodic drift repair. Driven one step at a time (tests) or by run()
// on its own thread (the daemon).

#include "base/logger.hpp"
#include "engine/database_watch.hpp"
#include "engine/deletion_gate.hpp"
#include "engine/event_source.hpp"
#include "engine/exclude_filter.hpp"
#include "engine/pending_changes.hpp"
#include "engine/session_state.hpp"
#include "engine/source_tree.hpp"
#include "engine/startup_scan.hpp"
#include "engine/tree_compare.hpp"
#include "engine/tree_mirror.hpp"
#include "engine/worker_pool.hpp"
#include "monitor/sync_status.hpp"
#include "transport/transport.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>

namespace fsmirror::engine {

// Whether the initial sync's deletions are reviewed by the mass-delete guard.
enum class StartupDeletions {
    guarded, // the default
    allowed, // --allow-mass-delete: the operator has seen what the source lacks
};

// Whether a lost source may come back only as a mount point (require_mount for the source).
enum class SourceMount { any, required };

struct SyncSessionOptions {
    std::string name;
    std::filesystem::path source;
    PendingChangesOptions batching;
    TreeMirrorOptions mirror;
    unsigned workers = 4;
    std::chrono::seconds max_retry_backoff{60};
    DeletionGateOptions guard;
    StartupDeletions startup_deletions = StartupDeletions::guarded;
    SourceMount source_mount = SourceMount::any;
    // Drift repair: compare the whole tree this often while idle and repair what differs;
    // zero turns it off.
    std::chrono::nanoseconds verify_interval{0};
    Contents verify_contents = Contents::metadata;
    SessionObserver* observer = nullptr; // not owned; may be null
    // SQLite databases mirrored through snapshots; nullopt copies them as plain files.
    std::optional<DatabaseWatchOptions> databases;
    // Where the session reports its state (nullptr: nowhere), and how often at most when
    // nothing significant happens. The reporter must outlive the session.
    monitor::SyncReporter* reporter = nullptr;
    std::chrono::milliseconds report_interval{1000};
    // The source's directories as the pre-flight census counted them, if it did.
    std::optional<std::uint64_t> source_directories;
};

class SyncSession {
public:
    // Watches the source with an event source of kind `events`; nullopt for a one-shot sync.
    // Throws std::runtime_error when the event source or the snapshot directory cannot be
    // created.
    SyncSession(SyncSessionOptions options, ExcludeFilter excludes,
                std::unique_ptr<transport::Transport> target, std::optional<EventSourceKind> events,
                base::Logger& logger);

    // Opens the source and sets the watches (before the initial sync, so nothing between the
    // two is lost). Returns the reason on failure.
    base::Status start();

    // Brings the whole target up to date with the source: a StartupScan compares the trees
    // directory by directory on a few threads while, when the session watches, this thread
    // keeps reading events and runs batches of live changes in between (the scan paused). The
    // target-only entries found are deleted after the scan, as one batch the mass-delete guard
    // reviews. Returns the number of entries that failed (they stay queued for retries when
    // the session keeps running); deletions the guard holds are not failures (see
    // status().held_deletions). When `stop` is requested first, returns early, the initial
    // sync unfinished and nothing deleted.
    std::size_t initial_sync(std::stop_token stop = {});

    // Waits up to `max_wait` for events, queues them, and runs a batch if one is due.
    void step(std::chrono::milliseconds max_wait);

    // Steps until `stop` is requested, then finishes the batch in flight and returns.
    void run(std::stop_token stop);

    // Makes a waiting step() return at once (thread-safe).
    void wake();

    // Asks the session to release the deletions the guard holds, on its next step (thread-safe;
    // `fsmirror resume` reaches it through the daemon).
    void resume_deletions();

    // Returns the current status (thread-safe).
    SessionStatus status() const;

    const std::string& name() const { return m_options.name; }
    const MirrorCounters& counters() const { return m_mirror.counters(); }
    // SQLite snapshots and the recovery point; nullptr when databases are copied as files.
    const DatabaseCounters* database_counters() const {
        return m_databases ? &m_databases->counters() : nullptr;
    }
    std::size_t backlog() const { return m_backlog.load(std::memory_order_relaxed); }
    std::string describe_target() const { return m_target->describe(); }

private:
    void queue_event(const FsEvent& event, TimePoint now);
    // What the session last told its reporter, and what it will tell next.
    struct ReportState {
        monitor::SyncState state = monitor::SyncState::starting;
        bool initial_sync_done = false;
        std::string last_error;
        std::optional<monitor::WallTime> last_error_time;
        std::optional<monitor::WallTime> last_success_time;
        monitor::WallTime started = monitor::WallClock::now();
        TimePoint next_report{};
        std::vector<monitor::BacklogItem> active;  // the batch being applied
        std::vector<monitor::BacklogItem> resting; // shown between batches (the initial sync)
        std::shared_ptr<const std::vector<std::string>> watched; // refreshed on schedule
    };
    using Urgency = monitor::SyncReporter::Urgency;

    enum class Refresh { yes, no }; // whether to re-read the watched directory list

    // Publishes a snapshot when the reporter is due one (always when `urgency` is significant).
    void report(TimePoint now, Urgency urgency);
    void publish(TimePoint now, Urgency urgency, Refresh refresh);
    void set_state(monitor::SyncState state, Urgency urgency);
    void record_outcome(const BatchOutcome& outcome);
    void record_error(const std::string& message);
    std::vector<monitor::BacklogItem> active_items(const Batch& batch) const;

    void run_due_batch(TimePoint now);
    // Requeues what the running startup scan failed or lost since the last call, records its
    // snapshots, and keeps the target entry estimate at least at what it has counted.
    void collect_scan(TimePoint now);
    // Deletes (as one guarded batch) what the finished scan found only on the target.
    std::size_t delete_scan_extras(std::vector<std::string> extras);
    // Records what a batch did and queues its failures for retries.
    void finish_batch(BatchOutcome outcome, TimePoint now);
    void requeue_failures(BatchOutcome outcome, TimePoint now);
    // Returns true when the target root is usable. Logs its loss once; when it is back, logs
    // that and queues a comparison of the whole tree.
    bool target_ready(TimePoint now);
    void handle_root_lost(TimePoint now, const std::string& why);
    bool try_recover_root(TimePoint now);
    BatchOutcome run_guarded(const Batch& batch, Phase phase);
    void release_held_deletions(TimePoint now);
    void check_drift(TimePoint now);
    void publish_status();

    SyncSessionOptions m_options;
    base::Logger& m_logger;
    ExcludeFilter m_excludes;
    std::unique_ptr<transport::Transport> m_target;
    std::unique_ptr<EventSource> m_events;
    SourceTree m_source;
    WorkerPool m_pool;
    std::unique_ptr<DatabaseWatch> m_databases; // null when SQLite support is off
    TreeMirror m_mirror;
    PendingChanges m_pending;
    DeletionGate m_gate;
    std::unique_ptr<StartupScan> m_scan; // while the initial sync runs
    std::size_t m_scan_failures = 0;
    bool m_scan_abandoned = false; // the source was lost while it ran
    std::atomic<std::size_t> m_backlog{0};
    std::atomic<bool> m_resume_requested{false};
    bool m_root_lost = false;
    bool m_target_lost = false;
    bool m_target_refused = false; // lost for good: its pre-flight checks refuse it
    bool m_waiting_for_mount_logged = false;
    std::string m_lost_reason;
    SessionState m_phase = SessionState::starting; // starting, initial_sync, watching, stopped
    TimePoint m_next_root_check{};
    TimePoint m_next_identity_check{};
    TimePoint m_next_target_check{};
    TimePoint m_next_verify{};
    mutable std::mutex m_status_mutex;
    SessionStatus m_status;
    ReportState m_report;
};

} // namespace fsmirror::engine
