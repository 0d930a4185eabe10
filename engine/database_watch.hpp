#pragma once
// The SQLite side of one sync session: decides which events concern a database (its own file,
// or its -wal/-journal companions, whose changes are never mirrored as files), schedules the
// snapshots (at most one per interval per database), and keeps the recovery point for the
// monitor. Owns the snapshot helper, the snapshot directory and the DatabaseMirror that
// TreeMirror uses. Used from the session's thread only; its counters from any thread.

#include "base/logger.hpp"
#include "engine/database_mirror.hpp"
#include "engine/database_schedule.hpp"
#include "engine/event_source.hpp"
#include "engine/snapshot_taker.hpp"
#include "engine/source_tree.hpp"
#include "engine/tree_mirror.hpp"

#include <filesystem>
#include <memory>
#include <vector>

namespace fsmirror::engine {

struct DatabaseWatchOptions {
    ExcludeFilter paths; // which files may be databases; empty: all
    std::chrono::nanoseconds delay{std::chrono::seconds(1)};    // the sync's batching delay
    std::chrono::nanoseconds interval{std::chrono::seconds(1)}; // between snapshots of one db
    std::filesystem::path snapshot_root; // this sync's snapshot directory is made in here
    HelperOptions helper;
    const ExcludeFilter* excludes = nullptr; // the sync's (see DatabaseMirrorOptions)
};

class DatabaseWatch {
public:
    // Prepares the snapshot directory for sync `sync_name`. Throws std::runtime_error saying
    // why when it cannot. `taker` replaces the helper process (tests); null for the real one.
    DatabaseWatch(const std::string& sync_name, DatabaseWatchOptions options,
                  const SourceTree& source, transport::Transport& target, base::Logger& logger,
                  std::unique_ptr<SnapshotTaker> taker = nullptr);

    // Removes the snapshot directory.
    ~DatabaseWatch();

    DatabaseWatch(const DatabaseWatch&) = delete;
    DatabaseWatch& operator=(const DatabaseWatch&) = delete;

    // What TreeMirror snapshots databases with.
    DatabaseMirror& mirror() { return *m_mirror; }

    // Takes the database events out of `event` seen at `now` and returns what the ordinary
    // queue should get: the event itself, nothing (it only meant "snapshot that database"),
    // or, for a rename to or from a companion's name, a removal and a creation.
    std::vector<FsEvent> route(const FsEvent& event, TimePoint now);

    // Returns when the next snapshot is due, nullopt when none is waiting.
    std::optional<TimePoint> next_due() const { return m_schedule.next_due(); }
    bool is_due(TimePoint now) const { return m_schedule.is_due(now); }

    // Returns the changes that snapshot every database due at `now`.
    std::vector<Change> take_due(TimePoint now);

    // Records the snapshots a batch landed (their recovery points).
    void record_landed(const std::vector<SnapshotLanded>& snapshots);

    // Takes over the retry of a failed change to a known database: it is snapshotted again,
    // with its newest state, no earlier than `retry_at`. Returns false for other changes.
    bool take_failure(const FailedChange& failed, TimePoint now, TimePoint retry_at);

    // Ends a batch (see DatabaseSchedule::finish_batch) and refreshes the gauges.
    void finish_batch(TimePoint now);

    // Refreshes the "unmirrored right now" gauges.
    void update_gauges(TimePoint now);

    const DatabaseCounters& counters() const { return m_counters; }

private:
    // True when `path` is known or found to be a database (learning it).
    bool is_database(const std::string& path);

    base::Logger& m_logger;
    DatabaseCounters m_counters;
    std::unique_ptr<SnapshotTaker> m_taker;
    std::filesystem::path m_directory;
    std::unique_ptr<DatabaseMirror> m_mirror;
    DatabaseSchedule m_schedule;
};

} // namespace fsmirror::engine
