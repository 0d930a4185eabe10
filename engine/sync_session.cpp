#include "engine/sync_session.hpp"

#include "base/rel_path.hpp"
#include "safety/mount_check.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <malloc.h>
#include <sys/stat.h>

namespace fsmirror::engine {

namespace {

constexpr std::chrono::seconds k_lost_root_check_interval{2};
constexpr std::chrono::seconds k_root_identity_check_interval{2};
constexpr std::chrono::milliseconds k_idle_wait{1000};
// How many batches a change whose path is gone from the source is carried to, waiting for the
// rename that explains it.
constexpr unsigned k_vanished_rounds = 3;
// Entries of new directories looked at per read of events for hard links (see
// TreeMirror::note_new_directory): a tree copied or moved in whole can be huge, and its
// comparison looks at all of it anyway.
constexpr std::size_t k_new_directory_budget = 10'000;

DatabaseWatchOptions with_excludes(DatabaseWatchOptions options, const ExcludeFilter& excludes) {
    options.excludes = &excludes;
    return options;
}

// Pauses the startup scan, if one runs, for as long as it lives.
class ScanPause {
public:
    explicit ScanPause(StartupScan* scan) : m_scan(scan) {
        if (m_scan)
            m_scan->pause();
    }
    ~ScanPause() {
        if (m_scan)
            m_scan->resume();
    }
    ScanPause(const ScanPause&) = delete;
    ScanPause& operator=(const ScanPause&) = delete;

private:
    StartupScan* m_scan;
};

std::chrono::nanoseconds backoff_for(unsigned attempts, std::chrono::seconds limit) {
    auto delay = std::chrono::seconds(1) * (1u << std::min(attempts, 10u));
    return std::min<std::chrono::nanoseconds>(delay, limit);
}

// The change that repairs one kind of drift. Size or mtime differences of a file re-send it
// (its content may have been changed behind our back); mode and owner only need attributes.
std::optional<ChangeKind> repair_for(const Difference& difference) {
    switch (difference.kind) {
    case DifferenceKind::missing:
        return ChangeKind::create;
    case DifferenceKind::extra:
        return ChangeKind::remove;
    case DifferenceKind::type:
    case DifferenceKind::size:
    case DifferenceKind::content:
    case DifferenceKind::symlink_target:
    case DifferenceKind::mtime:
        return ChangeKind::modify;
    case DifferenceKind::mode:
    case DifferenceKind::owner:
        return ChangeKind::attrib;
    case DifferenceKind::unreadable:
    case DifferenceKind::integrity: // drift repair leaves databases to the snapshots
        break;
    }
    return std::nullopt;
}

// The wall-clock time of a steady-clock point, for status output.
monitor::WallTime to_wall(TimePoint point, TimePoint steady_now, monitor::WallTime wall_now) {
    return wall_now - std::chrono::duration_cast<monitor::WallClock::duration>(steady_now - point);
}

monitor::BacklogItem backlog_item(monitor::ItemStatus status, const std::string& path,
                                  ChangeKind kind, const std::string& from_path,
                                  monitor::WallTime since) {
    monitor::BacklogItem item;
    item.status = status;
    if (!from_path.empty()) {
        item.type = "Move";
        item.path = from_path;
        item.to_path = path;
    } else {
        item.type = to_string(kind);
        item.path = path;
        item.is_directory = kind == ChangeKind::tree;
    }
    item.since = since;
    return item;
}

} // namespace

const char* to_string(SessionState state) {
    switch (state) {
    case SessionState::starting:
        return "starting";
    case SessionState::initial_sync:
        return "initial_sync";
    case SessionState::watching:
        return "watching";
    case SessionState::deletions_paused:
        return "deletions_paused";
    case SessionState::source_lost:
        return "source_lost";
    case SessionState::target_lost:
        return "target_lost";
    case SessionState::target_refused:
        return "target_refused";
    case SessionState::stopped:
        return "stopped";
    }
    return "unknown";
}

SyncSession::SyncSession(SyncSessionOptions options, ExcludeFilter excludes,
                         std::unique_ptr<transport::Transport> target,
                         std::optional<EventSourceKind> events, base::Logger& logger)
    : m_options(std::move(options)), m_logger(logger), m_excludes(std::move(excludes)),
      m_target(std::move(target)),
      m_events(events ? make_event_source(*events, EventSourceOptions{m_options.source, &m_excludes,
                                                                      &m_logger,
                                                                      m_options.source_directories})
                      : nullptr),
      m_source(m_options.source), m_pool(m_options.workers),
      m_databases(m_options.databases
                      ? std::make_unique<DatabaseWatch>(
                            m_options.name, with_excludes(*m_options.databases, m_excludes),
                            m_source, *m_target, m_logger)
                      : nullptr),
      m_mirror(m_source, *m_target, m_pool, m_excludes, m_logger, m_options.mirror,
               m_databases ? &m_databases->mirror() : nullptr),
      m_pending(m_options.batching), m_gate(m_options.guard) {
    m_mirror.set_deletion_reviewer(&m_gate);
}

base::Status SyncSession::start() {
    if (auto opened = m_source.open(); !opened)
        return opened;
    if (m_events) {
        if (auto watching = m_events->start(); !watching)
            return watching;
        m_logger.info("{}: {} watching {} directories under {}", m_options.name, m_events->name(),
                      m_events->watch_count(), m_options.source.string());
    }
    report(Clock::now(), Urgency::routine);
    return {};
}

BatchOutcome SyncSession::run_guarded(const Batch& batch, Phase phase) {
    const bool was_paused = m_gate.paused().has_value();
    auto outcome = m_mirror.run_batch(batch, phase);
    if (!outcome.held.empty()) {
        if (!was_paused && m_gate.paused())
            m_logger.error("{}: mass-delete guard: {}; holding {} deletions and mirroring "
                           "everything else. Check the source ({}), then run `fsmirror resume "
                           "--name {}` to let them through, or restart with "
                           "--allow-mass-delete",
                           m_options.name, m_gate.paused()->message, outcome.held.size(),
                           m_options.source.string(), m_options.name);
        else
            m_logger.warning("{}: deletions paused: holding {} more ({} held in all)",
                             m_options.name, outcome.held.size(), m_gate.held().size());
    }
    return outcome;
}

std::size_t SyncSession::initial_sync(std::stop_token stop) {
    m_phase = SessionState::initial_sync;
    publish_status();
    m_logger.info("{}: initial sync {}/ -> {} started", m_options.name, m_options.source.string(),
                  m_target->describe());
    auto started = Clock::now();
    monitor::BacklogItem init;
    init.status = monitor::ItemStatus::active;
    init.type = "Init";
    init.is_directory = true;
    init.since = monitor::WallClock::now();
    m_report.resting = {init};
    m_report.active = m_report.resting;
    set_state(monitor::SyncState::initial_sync, Urgency::routine);

    // Every name of these is sent by the scan, which sees the whole tree.
    const auto forced_before = m_mirror.forced_inodes();
    StartupScanOptions scan_options;
    scan_options.threads = std::clamp(m_options.workers / 2, 2u, 4u);
    scan_options.collect_extras = m_options.mirror.deletes.at_startup;
    if (m_events)
        scan_options.on_finished = [this] {
            m_events->wake();
        };
    m_scan_failures = 0;
    m_scan_abandoned = false;
    m_scan = std::make_unique<StartupScan>(m_source, *m_target, m_mirror, m_pool, m_logger,
                                           scan_options);
    if (auto scanning = m_scan->start(); !scanning) {
        m_logger.error("{}: {}", m_options.name, scanning.error().message);
        record_error(scanning.error().message);
        m_scan.reset();
        m_pending.add_retry(Change{"", ChangeKind::tree, 0}, Clock::now());
        m_scan_failures = 1;
    } else if (m_events) {
        // Live changes are mirrored meanwhile, each batch with the scan paused.
        while (!m_scan->finished() && !stop.stop_requested() && !m_scan_abandoned)
            step(k_idle_wait);
    } else {
        m_scan->wait();
    }
    if (m_scan && !m_scan->finished()) {
        m_scan->cancel();
        m_scan->wait();
    }
    std::vector<std::string> extras;
    ScanTotals totals;
    if (m_scan) {
        collect_scan(Clock::now());
        totals = m_scan->totals();
        extras = m_scan->take_extras();
        m_scan.reset();
    }
    m_report.resting.clear();
    m_report.active.clear();
    if (stop.stop_requested() || m_scan_abandoned) {
        m_logger.warning("{}: initial sync {} after {} directories; target-only entries are not "
                         "deleted until a later start",
                         m_options.name, m_scan_abandoned ? "lost its source" : "stopped",
                         totals.directories);
        return m_scan_failures;
    }
    m_mirror.set_target_entries_estimate(totals.target_entries + totals.created);
    m_mirror.forget_forced_inodes(forced_before);
    std::size_t failures = m_scan_failures + delete_scan_extras(std::move(extras));
    if (auto flushed = m_target->flush(); !flushed)
        m_logger.warning("{}: {}", m_options.name, flushed.error().message);
    if (failures == 0)
        m_report.last_success_time = monitor::WallClock::now();
    // The scan's listings were freed across several threads' malloc arenas, which keep the
    // pages; a daemon that then idles for months should not hold its start-up peak.
    ::malloc_trim(0);
    auto elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    m_logger.info(
        "{}: initial sync finished in {:.3f} s ({} files written, {} bytes, {} deleted, {} "
        "failed{}; {} directories compared, at most {} waiting)",
        m_options.name, elapsed, m_mirror.counters().files_written.load(),
        m_mirror.counters().bytes_written.load(), m_mirror.counters().entries_removed.load(),
        failures,
        m_gate.held().empty() ? std::string()
                              : ", " + std::to_string(m_gate.held().size()) + " deletions held",
        totals.directories, totals.peak_waiting);
    m_phase = m_events ? SessionState::watching : SessionState::stopped;
    m_next_verify = Clock::now() + m_options.verify_interval;
    m_next_identity_check = Clock::now() + k_root_identity_check_interval;
    publish_status();
    m_report.initial_sync_done = true;
    set_state(monitor::SyncState::watching, Urgency::significant);
    return failures;
}

void SyncSession::collect_scan(TimePoint now) {
    if (!m_scan)
        return;
    ScanReport report = m_scan->take_report();
    for (const auto& failed : report.failed) {
        m_logger.error("{}: {}", m_options.name, failed.error.message);
        record_error(failed.error.message);
    }
    m_scan_failures += report.failed.size();
    BatchOutcome outcome;
    outcome.failed = std::move(report.failed);
    outcome.vanished = std::move(report.vanished);
    outcome.snapshots = std::move(report.snapshots);
    finish_batch(std::move(outcome), now);
    // Live deletions meanwhile are reviewed against what the scan has counted so far.
    const auto totals = m_scan->totals();
    const auto counted = totals.target_entries + totals.created;
    if (counted > m_mirror.target_entries_estimate())
        m_mirror.set_target_entries_estimate(counted);
}

std::size_t SyncSession::delete_scan_extras(std::vector<std::string> extras) {
    if (extras.empty())
        return 0;
    // Each is looked at on the source again: a live change may have created it since.
    Batch batch;
    for (auto& path : extras)
        batch.changes.push_back(Change{std::move(path), ChangeKind::remove, 0});
    const bool allowed = m_options.startup_deletions == StartupDeletions::allowed;
    m_gate.approve_all(allowed);
    auto outcome = run_guarded(batch, Phase::startup);
    m_gate.approve_all(false);
    record_outcome(outcome);
    const std::size_t failures = outcome.failed.size();
    for (const auto& failed : outcome.failed)
        m_logger.error("{}: {}", m_options.name, failed.error.message);
    finish_batch(std::move(outcome), Clock::now());
    return failures;
}

void SyncSession::wake() {
    if (m_events)
        m_events->wake();
}

void SyncSession::resume_deletions() {
    m_resume_requested.store(true);
    wake();
}

SessionStatus SyncSession::status() const {
    std::lock_guard lock(m_status_mutex);
    return m_status;
}

void SyncSession::step(std::chrono::milliseconds max_wait) {
    auto now = Clock::now();
    auto wait = max_wait;
    auto due = m_pending.next_due();
    if (m_databases) {
        if (auto database_due = m_databases->next_due();
            database_due && (!due || *database_due < *due))
            due = database_due;
    }
    if (due) {
        auto until_due = std::chrono::ceil<std::chrono::milliseconds>(*due - now);
        wait = std::clamp(until_due, std::chrono::milliseconds(0), max_wait);
    }
    if (m_root_lost)
        wait = std::min(wait, std::chrono::milliseconds(200));
    if (m_resume_requested.load())
        wait = std::chrono::milliseconds(0);
    if (m_events) {
        auto events = m_events->poll(wait);
        now = Clock::now();
        if (!events) {
            m_logger.error("{}: {}", m_options.name, events.error().message);
            record_error(events.error().message);
        } else {
            // New file names are looked at once every event read with them is applied: a
            // rename read after a creation may already have moved the name (a hard link made
            // in a directory renamed before the events were read, then written through and
            // removed, changed its other names with no event naming them).
            // New directories likewise: what was done in them before their watch was set went
            // unreported, hard links made there and written through included.
            std::vector<std::string> new_names;
            std::vector<std::string> new_directories;
            for (const auto& event : *events) {
                if (event.kind == EventKind::created)
                    (event.is_directory ? new_directories : new_names).push_back(event.path);
                if (event.kind == EventKind::moved)
                    for (auto* names : {&new_names, &new_directories})
                        for (auto& name : *names)
                            if (base::is_same_or_under(name, event.from_path))
                                name = event.path + name.substr(event.from_path.size());
                if (m_logger.enabled(base::LogLevel::debug))
                    m_logger.debug("{}: event {} /{}{}{}", m_options.name, to_string(event.kind),
                                   event.path, event.is_directory ? "/" : "",
                                   event.from_path.empty() ? "" : " from /" + event.from_path);
                if (event.kind == EventKind::root_lost) {
                    handle_root_lost(now, "vanished or was unmounted");
                    continue;
                }
                queue_event(event, now);
            }
            for (const auto& name : new_names)
                m_mirror.note_new_name(name);
            // Sorted, a directory follows the new one it is in (mkdir -p reports each level),
            // which has looked at it already.
            std::sort(new_directories.begin(), new_directories.end());
            std::size_t budget = k_new_directory_budget;
            const std::string* walked = nullptr;
            for (const auto& dir : new_directories) {
                if (budget == 0)
                    break;
                if (walked && base::is_same_or_under(dir, *walked))
                    continue;
                budget -= std::min(budget, m_mirror.note_new_directory(dir, budget));
                walked = &dir;
            }
        }
    }
    // An unmount under a busy directory (umount -l) or a mount over it sends no event: the
    // path simply names another directory.
    if (!m_root_lost && now >= m_next_identity_check) {
        m_next_identity_check = now + k_root_identity_check_interval;
        if (m_source.root_replaced())
            handle_root_lost(now, "was replaced, or a file system was mounted or unmounted there");
    }
    if (m_root_lost && !try_recover_root(now)) {
        publish_status();
        report(now, Urgency::routine);
        return;
    }
    // Held changes retry with a growing backoff; a target that is back is noticed sooner.
    if (m_target_lost && now >= m_next_target_check)
        target_ready(now);
    collect_scan(now);
    const bool resume = m_resume_requested.exchange(false);
    m_backlog.store(m_pending.size(), std::memory_order_relaxed);
    const bool batch_due = m_pending.is_due(now) || (m_databases && m_databases->is_due(now));
    if (resume || batch_due) {
        // A batch never runs in the middle of a directory's comparison (see StartupScan).
        ScanPause paused(m_scan.get());
        if (resume)
            release_held_deletions(now);
        if (batch_due)
            run_due_batch(now);
    }
    if (!m_scan)
        check_drift(now);
    publish_status();
    if (m_databases)
        m_databases->update_gauges(Clock::now());
    report(Clock::now(), Urgency::routine);
}

void SyncSession::queue_event(const FsEvent& event, TimePoint now) {
    if (!m_databases) {
        m_pending.add_event(event, now);
        return;
    }
    for (const auto& routed : m_databases->route(event, now))
        m_pending.add_event(routed, now);
}

void SyncSession::run(std::stop_token stop) {
    std::stop_callback on_stop(stop, [this] { wake(); });
    while (!stop.stop_requested())
        step(k_idle_wait);
    m_logger.info("{}: stopped with {} changes still queued", m_options.name, m_pending.size());
    m_phase = SessionState::stopped;
    publish_status();
    set_state(monitor::SyncState::stopped, Urgency::significant);
}

void SyncSession::run_due_batch(TimePoint now) {
    Batch batch;
    if (m_pending.is_due(now))
        batch = m_pending.take(now);
    if (m_databases) {
        auto snapshots = m_databases->take_due(now);
        if (!snapshots.empty()) {
            for (auto& change : snapshots) {
                auto queued = std::find_if(batch.changes.begin(), batch.changes.end(),
                                           [&](const Change& c) { return c.path == change.path; });
                if (queued == batch.changes.end())
                    batch.changes.push_back(std::move(change));
                else if (queued->kind == ChangeKind::attrib)
                    queued->kind = ChangeKind::modify; // the snapshot must not be skipped
            }
            // Kept in path order: a directory before its children.
            std::sort(batch.changes.begin(), batch.changes.end(),
                      [](const Change& a, const Change& b) { return a.path < b.path; });
        }
    }
    if (!target_ready(now)) {
        // Keep the changes; look again after a pause instead of spinning.
        const base::Error lost{base::ErrorKind::not_found, m_lost_reason, 0};
        BatchOutcome outcome;
        for (auto& move : batch.moves)
            outcome.failed.push_back(FailedChange{Change{move.to, ChangeKind::tree, 0}, lost});
        for (auto& change : batch.changes)
            outcome.failed.push_back(FailedChange{change, lost});
        finish_batch(std::move(outcome), now);
        return;
    }
    if (batch.empty())
        return;
    m_logger.debug("{}: running a batch of {} moves and {} changes", m_options.name,
                   batch.moves.size(), batch.changes.size());
    m_report.active = active_items(batch);
    m_backlog.store(m_pending.size(), std::memory_order_relaxed);
    set_state(monitor::SyncState::syncing, Urgency::routine);
    auto outcome = run_guarded(batch, Phase::running);
    m_report.active = m_report.resting;
    record_outcome(outcome);
    if (outcome.rescan_needed) {
        m_logger.info("{}: a file with hard links changed and not all its names are known; "
                      "comparing the tree to find them",
                      m_options.name);
        m_pending.add_change("", ChangeKind::tree, Clock::now());
    }
    for (const auto& failed : outcome.failed)
        m_logger.warning("{}: {} (attempt {}, will retry)", m_options.name, failed.error.message,
                         failed.change.attempts);
    const bool failed = !outcome.failed.empty();
    finish_batch(std::move(outcome), Clock::now());
    m_backlog.store(m_pending.size(), std::memory_order_relaxed);
    set_state(m_scan ? monitor::SyncState::initial_sync : monitor::SyncState::watching,
              failed ? Urgency::significant : Urgency::routine);
}

bool SyncSession::target_ready(TimePoint now) {
    m_next_target_check = now + k_lost_root_check_interval;
    auto root = m_target->check_root();
    if (!root) {
        if (!m_target_lost) {
            m_logger.error("{}: {}; holding all changes until it is back", m_options.name,
                           root.error().message);
            record_error(root.error().message);
            set_state(monitor::SyncState::target_lost, Urgency::significant);
        } else if (root.error().kind == base::ErrorKind::refused && !m_target_refused) {
            // The target answering at last and being refused by its pre-flight checks
            // (app/preflight_gate.hpp): news, not another "next attempt in".
            m_logger.error("{}: {}; holding all changes", m_options.name, root.error().message);
            record_error(root.error().message);
        }
        if (root.error().kind == base::ErrorKind::refused && !m_target_refused) {
            m_target_refused = true;
            set_state(monitor::SyncState::target_refused, Urgency::significant);
        }
        m_target_lost = true;
        m_lost_reason = root.error().message;
        return false;
    }
    if (m_target_lost) {
        m_logger.info("{}: target {} is back; comparing the whole tree", m_options.name,
                      m_target->describe());
        m_target_lost = false;
        set_state(monitor::SyncState::watching, Urgency::significant);
        // While it was away it may have been made again empty or written by others; the
        // changes held meanwhile cover only what happened on the source.
        m_pending.add_change("", ChangeKind::tree, now);
    }
    return true;
}

void SyncSession::release_held_deletions(TimePoint now) {
    if (!m_gate.paused() && m_gate.held().empty()) {
        m_logger.info("{}: resume requested, but no deletions are held", m_options.name);
        return;
    }
    auto paths = m_gate.resume();
    m_logger.warning("{}: the operator resumed deletions; deleting what the source still lacks "
                     "of {} held paths",
                     m_options.name, paths.size());
    Batch batch;
    for (auto& path : paths) // sorted: the batch contract wants parents first
        batch.changes.push_back(Change{std::move(path), ChangeKind::remove, 0});
    m_gate.approve_all(true);
    auto outcome = m_mirror.run_batch(batch, Phase::resumed);
    m_gate.approve_all(false);
    for (const auto& failed : outcome.failed)
        m_logger.warning("{}: {} (attempt {}, will retry)", m_options.name, failed.error.message,
                         failed.change.attempts);
    finish_batch(std::move(outcome), now);
}

void SyncSession::check_drift(TimePoint now) {
    if (m_options.verify_interval.count() <= 0 || now < m_next_verify)
        return;
    // Only when idle and healthy: queued changes are not drift, and while deletions are
    // paused the held ones would be found again every time.
    if (!m_pending.empty() || m_root_lost || m_target_lost || m_gate.paused())
        return;
    m_next_verify = now + m_options.verify_interval;
    TreeCompareOptions compare;
    compare.attributes = m_options.mirror.attributes;
    compare.contents = m_options.verify_contents;
    compare.workers = m_options.workers;
    // Databases are the snapshot machinery's: their bytes always differ from the live file.
    compare.databases = m_databases ? Databases::skipped : Databases::as_files;
    auto comparison = compare_trees(m_source, *m_target, m_excludes, compare);
    if (!comparison) {
        m_logger.warning("{}: drift check skipped: {}", m_options.name, comparison.error().message);
        return;
    }
    std::size_t repairs = 0;
    for (const auto& difference : comparison->differences) {
        auto kind = repair_for(difference);
        if (!kind) {
            m_logger.warning("{}: drift check: {}", m_options.name, format_difference(difference));
            continue;
        }
        // A comparison cannot tell drift from the startup extras delete=running keeps.
        const auto& deletes = m_options.mirror.deletes;
        if (*kind == ChangeKind::remove && !(deletes.while_running && deletes.at_startup))
            continue;
        m_logger.warning("{}: drift repair: {}", m_options.name, format_difference(difference));
        m_pending.add_change(difference.path, *kind, now);
        ++repairs;
    }
    if (repairs > 0)
        m_logger.warning("{}: drift check found {} differences on the target; repairing them",
                         m_options.name, repairs);
    else
        m_logger.debug("{}: drift check: the target matches the source ({} entries)",
                       m_options.name, comparison->entries);
}

void SyncSession::finish_batch(BatchOutcome outcome, TimePoint now) {
    if (m_databases)
        m_databases->record_landed(outcome.snapshots);
    requeue_failures(std::move(outcome), now);
    if (m_databases)
        m_databases->finish_batch(now);
}

void SyncSession::requeue_failures(BatchOutcome outcome, TimePoint now) {
    for (auto& change : outcome.vanished) {
        // The event that explains a vanished path is read within a round or two; after
        // that the path is simply gone (moved out with a directory, removed).
        if (change.attempts >= k_vanished_rounds)
            continue;
        ++change.attempts;
        m_pending.add_vanished(change, now);
    }
    for (auto& failed : outcome.failed) {
        const TimePoint retry_at =
            now + backoff_for(failed.change.attempts, m_options.max_retry_backoff);
        if (m_databases && m_databases->take_failure(failed, now, retry_at))
            continue;
        m_pending.add_retry(failed.change, retry_at);
    }
}

void SyncSession::handle_root_lost(TimePoint now, const std::string& why) {
    if (m_scan && !m_scan_abandoned) {
        // What it found so far describes a source that is gone; the recovery's comparison
        // (which never deletes) takes over once it is back.
        m_scan->cancel();
        m_scan->wait();
        m_scan_abandoned = true;
    }
    if (!m_root_lost) {
        m_logger.error("{}: source directory {} {}; nothing is deleted on the target while it is "
                       "gone",
                       m_options.name, m_options.source.string(), why);
        record_error("source directory " + m_options.source.string() + " " + why);
    }
    m_root_lost = true;
    m_lost_reason = "source directory " + m_options.source.string() + " " + why;
    m_waiting_for_mount_logged = false;
    set_state(monitor::SyncState::source_lost, Urgency::significant);
    m_next_root_check = now;
}

bool SyncSession::try_recover_root(TimePoint now) {
    if (now < m_next_root_check)
        return false;
    m_next_root_check = now + k_lost_root_check_interval;
    struct stat st {};
    if (::stat(m_options.source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
    if (m_options.source_mount == SourceMount::required) {
        auto mounted = safety::is_mount_point(m_options.source);
        if (!mounted || !*mounted) {
            if (!m_waiting_for_mount_logged)
                m_logger.error("{}: source {} is not a mount point (require_mount); waiting for "
                               "the volume to be mounted again",
                               m_options.name, m_options.source.string());
            m_waiting_for_mount_logged = true;
            return false;
        }
    }
    if (auto opened = m_source.open(); !opened)
        return false;
    if (m_events) {
        if (auto watching = m_events->start(); !watching) {
            m_logger.error("{}: {}", m_options.name, watching.error().message);
            return false;
        }
    }
    m_logger.info("{}: source directory {} is back; copying what changed (deletions are not "
                  "carried over until the next start)",
                  m_options.name, m_options.source.string());
    m_root_lost = false;
    m_next_identity_check = now + k_root_identity_check_interval;
    set_state(monitor::SyncState::syncing, Urgency::significant);
    Batch everything;
    everything.changes.push_back(Change{"", ChangeKind::tree, 0});
    auto outcome = m_mirror.run_batch(everything, Phase::recovery);
    record_outcome(outcome);
    finish_batch(std::move(outcome), now);
    set_state(monitor::SyncState::watching, Urgency::significant);
    return true;
}

void SyncSession::publish_status() {
    SessionStatus status;
    if (m_target_lost) {
        status.state = m_target_refused ? SessionState::target_refused : SessionState::target_lost;
        status.reason = m_lost_reason;
    } else if (m_root_lost) {
        status.state = SessionState::source_lost;
        status.reason = m_lost_reason;
    } else if (m_gate.paused()) {
        status.state = SessionState::deletions_paused;
        status.reason = m_gate.paused()->message;
    } else {
        status.state = m_phase;
    }
    status.held_deletions = m_gate.held().size();
    {
        std::lock_guard lock(m_status_mutex);
        if (status == m_status)
            return;
        m_status = status;
    }
    if (m_options.observer)
        m_options.observer->on_status(m_options.name, status);
    // The guard holding or releasing deletions is news for the monitor at once.
    publish(Clock::now(), Urgency::significant, Refresh::no);
}

void SyncSession::set_state(monitor::SyncState state, Urgency urgency) {
    if (state == m_report.state)
        return report(Clock::now(), Urgency::routine);
    m_report.state = state;
    // A state change is always published (a long batch must show as such), but the watched
    // directory list is only refreshed on the regular schedule.
    publish(Clock::now(), urgency, Refresh::no);
}

void SyncSession::record_error(const std::string& message) {
    m_report.last_error = message;
    m_report.last_error_time = monitor::WallClock::now();
}

void SyncSession::record_outcome(const BatchOutcome& outcome) {
    if (outcome.failed.empty()) {
        m_report.last_success_time = monitor::WallClock::now();
        return;
    }
    const auto& last = outcome.failed.back().error.message;
    record_error(outcome.failed.size() == 1
                     ? last
                     : fmt::format("{} (and {} other failures in the same batch)", last,
                                   outcome.failed.size() - 1));
}

std::vector<monitor::BacklogItem> SyncSession::active_items(const Batch& batch) const {
    std::vector<monitor::BacklogItem> items;
    if (!m_options.reporter)
        return items;
    const auto wall_now = monitor::WallClock::now();
    for (const auto& move : batch.moves) {
        if (items.size() >= monitor::k_max_reported_items)
            break;
        items.push_back(backlog_item(monitor::ItemStatus::active, move.to, ChangeKind::modify,
                                     move.from, wall_now));
    }
    for (const auto& change : batch.changes) {
        if (items.size() >= monitor::k_max_reported_items)
            break;
        items.push_back(
            backlog_item(monitor::ItemStatus::active, change.path, change.kind, {}, wall_now));
    }
    return items;
}

void SyncSession::report(TimePoint now, Urgency urgency) {
    if (!m_options.reporter)
        return;
    const bool scheduled = now >= m_report.next_report;
    if (urgency == Urgency::routine && !scheduled)
        return;
    if (scheduled)
        m_report.next_report = now + m_options.report_interval;
    publish(now, urgency, scheduled ? Refresh::yes : Refresh::no);
}

void SyncSession::publish(TimePoint now, Urgency urgency, Refresh refresh) {
    if (!m_options.reporter)
        return;
    const auto wall_now = monitor::WallClock::now();
    monitor::SyncStatus status;
    status.name = m_options.name;
    status.source = m_options.source.string();
    status.target = m_target->describe();
    status.state = m_report.state;
    if (const auto& paused = m_gate.paused()) {
        if (status.state == monitor::SyncState::watching ||
            status.state == monitor::SyncState::syncing)
            status.state = monitor::SyncState::deletions_paused;
        status.paused_reason = paused->message;
    }
    status.held_deletions = m_gate.held().size();
    status.initial_sync_done = m_report.initial_sync_done;
    status.items = m_report.active;
    for (const auto& active : m_report.active)
        if (!status.oldest_pending || active.since < *status.oldest_pending)
            status.oldest_pending = active.since;
    status.backlog = m_pending.size() + m_report.active.size();
    for (const auto& item : m_pending.items(now)) {
        const auto since = to_wall(item.since, now, wall_now);
        if (!status.oldest_pending || since < *status.oldest_pending)
            status.oldest_pending = since;
        if (item.waiting_for_retry)
            ++status.retrying;
        if (status.items.size() < monitor::k_max_reported_items)
            status.items.push_back(backlog_item(item.waiting_for_retry ? monitor::ItemStatus::block
                                                                       : monitor::ItemStatus::wait,
                                                item.path, item.kind, item.from_path, since));
    }
    if (m_events && !m_root_lost && (refresh == Refresh::yes || !m_report.watched)) {
        m_report.watched =
            std::make_shared<const std::vector<std::string>>(m_events->watched_directories());
    } else if (m_root_lost) {
        m_report.watched.reset();
    }
    if (m_report.watched) {
        status.watch_count = m_report.watched->size();
        status.watched_directories = m_report.watched;
    }
    const auto& counters = m_mirror.counters();
    status.counters.files_written = counters.files_written.load();
    status.counters.bytes_written = counters.bytes_written.load();
    status.counters.entries_removed = counters.entries_removed.load();
    status.counters.renames = counters.renames.load();
    status.counters.failures = counters.failures.load();
    if (m_databases) {
        const auto& db = m_databases->counters();
        status.databases = monitor::DatabaseFigures{db.snapshots.load(),
                                                    db.snapshot_failures.load(),
                                                    db.databases_unmirrored.load(),
                                                    db.unmirrored_age_ms.load(),
                                                    db.last_recovery_point_ms.load(),
                                                    db.max_recovery_point_ms.load()};
    }
    status.last_error = m_report.last_error;
    status.last_error_time = m_report.last_error_time;
    status.last_success_time = m_report.last_success_time;
    status.started = m_report.started;
    status.updated = wall_now;
    m_options.reporter->publish(std::move(status), urgency);
}

} // namespace fsmirror::engine
