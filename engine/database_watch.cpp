#include "engine/database_watch.hpp"

#include "engine/sqlite_files.hpp"

#include <stdexcept>

namespace fsmirror::engine {

namespace {

std::uint64_t to_ms(std::chrono::nanoseconds duration) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(duration).count()));
}

// Which companion events mean "the database has new content". A -wal is written by every
// commit (IN_MODIFY); its creation or removal alone changes nothing (a reader, our helper
// included, may create an empty one; the last connection removes it after a checkpoint, which
// writes the database file itself). A -journal comes and goes with each rollback-mode
// transaction, all of which the database file's own events also show; following it too costs
// nothing, as a snapshot simply waits for the transaction's lock. The -shm is written through
// mmap (no events) and holds no data.
bool triggers_snapshot(CompanionKind companion, EventKind kind) {
    switch (companion) {
    case CompanionKind::wal:
        return kind == EventKind::modified;
    case CompanionKind::journal:
        return kind == EventKind::created || kind == EventKind::modified ||
               kind == EventKind::removed;
    case CompanionKind::shm:
        return false;
    }
    return false;
}

} // namespace

DatabaseWatch::DatabaseWatch(const std::string& sync_name, DatabaseWatchOptions options,
                             const SourceTree& source, transport::Transport& target,
                             base::Logger& logger, std::unique_ptr<SnapshotTaker> taker)
    : m_logger(logger),
      m_taker(taker ? std::move(taker) : make_helper_snapshot_taker(options.helper)),
      m_schedule(DatabaseScheduleOptions{options.delay, options.interval}) {
    auto directory = prepare_snapshot_directory(options.snapshot_root, sync_name);
    if (!directory)
        throw std::runtime_error(directory.error().message);
    m_directory = *directory;
    m_mirror = std::make_unique<DatabaseMirror>(
        source, target, *m_taker, logger,
        DatabaseMirrorOptions{std::move(options.paths), m_directory, options.excludes}, m_counters);
}

DatabaseWatch::~DatabaseWatch() {
    remove_snapshot_directory(m_directory);
}

bool DatabaseWatch::is_database(const std::string& path) {
    if (m_schedule.is_known(path))
        return true;
    if (!m_mirror->is_database(path))
        return false;
    m_schedule.learn(path);
    return true;
}

std::vector<FsEvent> DatabaseWatch::route(const FsEvent& event, TimePoint now) {
    switch (event.kind) {
    case EventKind::moved:
        m_schedule.move(event.from_path, event.path);
        if (!event.is_directory && (companion_of(event.from_path) || companion_of(event.path))) {
            // Each side on its own: a companion side only triggers its database.
            std::vector<FsEvent> routed =
                route(FsEvent{EventKind::removed, event.from_path, "", false}, now);
            for (auto& created : route(FsEvent{EventKind::created, event.path, "", false}, now))
                routed.push_back(std::move(created));
            return routed;
        }
        return {event};
    case EventKind::removed:
        m_schedule.forget(event.path);
        break;
    case EventKind::rescan:
    case EventKind::root_lost:
        return {event};
    case EventKind::created:
    case EventKind::modified:
    case EventKind::attrib:
        break;
    }
    if (event.is_directory)
        return {event};
    if (auto companion = companion_of(event.path)) {
        if (!is_database(companion->database))
            return {event}; // "notes-journal" beside a plain "notes" is just a file
        if (triggers_snapshot(companion->kind, event.kind) &&
            !m_mirror->is_excluded(companion->database))
            m_schedule.note_change(companion->database, now);
        return {};
    }
    if (event.kind == EventKind::modified && m_schedule.is_known(event.path)) {
        m_schedule.note_change(event.path, now);
        return {};
    }
    return {event};
}

std::vector<Change> DatabaseWatch::take_due(TimePoint now) {
    std::vector<Change> changes;
    for (auto& due : m_schedule.take_due(now))
        changes.push_back(Change{std::move(due.database), ChangeKind::modify, due.attempts});
    return changes;
}

void DatabaseWatch::record_landed(const std::vector<SnapshotLanded>& snapshots) {
    for (const auto& snapshot : snapshots) {
        auto recovery_point = m_schedule.landed(snapshot.path, snapshot.started, snapshot.landed);
        if (!recovery_point)
            continue;
        const std::uint64_t ms = to_ms(*recovery_point);
        m_logger.debug("database /{}: recovery point {:.3f} s (oldest change carried to landing)",
                       snapshot.path, std::chrono::duration<double>(*recovery_point).count());
        m_counters.last_recovery_point_ms.store(ms, std::memory_order_relaxed);
        std::uint64_t max = m_counters.max_recovery_point_ms.load(std::memory_order_relaxed);
        while (ms > max && !m_counters.max_recovery_point_ms.compare_exchange_weak(
                               max, ms, std::memory_order_relaxed)) {
        }
    }
}

bool DatabaseWatch::take_failure(const FailedChange& failed, TimePoint now, TimePoint retry_at) {
    if (failed.change.kind == ChangeKind::remove || !m_schedule.is_known(failed.change.path))
        return false;
    m_schedule.failed(failed.change.path, now, retry_at, failed.change.attempts);
    return true;
}

void DatabaseWatch::finish_batch(TimePoint now) {
    m_schedule.finish_batch();
    update_gauges(now);
}

void DatabaseWatch::update_gauges(TimePoint now) {
    auto oldest = m_schedule.oldest_unmirrored();
    m_counters.unmirrored_age_ms.store(oldest ? to_ms(now - *oldest) : 0,
                                       std::memory_order_relaxed);
    m_counters.databases_unmirrored.store(m_schedule.unmirrored_count(), std::memory_order_relaxed);
}

} // namespace fsmirror::engine
