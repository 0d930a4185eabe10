#include "engine/sync_session.hpp"

#include <algorithm>
#include <sys/stat.h>

namespace fsmirror::engine {

namespace {

constexpr std::chrono::seconds k_lost_root_check_interval{2};
constexpr std::chrono::milliseconds k_idle_wait{1000};

DatabaseWatchOptions with_excludes(DatabaseWatchOptions options, const ExcludeFilter& excludes) {
    options.excludes = &excludes;
    return options;
}

std::chrono::nanoseconds backoff_for(unsigned attempts, std::chrono::seconds limit) {
    auto delay = std::chrono::seconds(1) * (1u << std::min(attempts, 10u));
    return std::min<std::chrono::nanoseconds>(delay, limit);
}

} // namespace

SyncSession::SyncSession(SyncSessionOptions options, ExcludeFilter excludes,
                         std::unique_ptr<transport::Transport> target,
                         std::optional<EventSourceKind> events, base::Logger& logger)
    : m_options(std::move(options)), m_logger(logger), m_excludes(std::move(excludes)),
      m_target(std::move(target)),
      m_events(events ? make_event_source(
                            *events, EventSourceOptions{m_options.source, &m_excludes, &m_logger})
                      : nullptr),
      m_source(m_options.source), m_pool(m_options.workers),
      m_databases(m_options.databases
                      ? std::make_unique<DatabaseWatch>(
                            m_options.name, with_excludes(*m_options.databases, m_excludes),
                            m_source, *m_target, m_logger)
                      : nullptr),
      m_mirror(m_source, *m_target, m_pool, m_excludes, m_logger, m_options.mirror,
               m_databases ? &m_databases->mirror() : nullptr),
      m_pending(m_options.batching) {}

base::Status SyncSession::start() {
    if (auto opened = m_source.open(); !opened)
        return opened;
    if (m_events) {
        if (auto watching = m_events->start(); !watching)
            return watching;
        m_logger.info("{}: {} watching {} directories under {}", m_options.name, m_events->name(),
                      m_events->watch_count(), m_options.source.string());
    }
    return {};
}

std::size_t SyncSession::initial_sync() {
    m_logger.info("{}: initial sync {}/ -> {} started", m_options.name, m_options.source.string(),
                  m_target->describe());
    auto started = Clock::now();
    Batch everything;
    everything.changes.push_back(Change{"", ChangeKind::tree, 0});
    auto outcome = m_mirror.run_batch(everything, Phase::startup);
    std::size_t failures = outcome.failed.size();
    for (const auto& failed : outcome.failed)
        m_logger.error("{}: {}", m_options.name, failed.error.message);
    finish_batch(std::move(outcome), Clock::now());
    auto elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    m_logger.info("{}: initial sync finished in {:.3f} s ({} files written, {} bytes, {} deleted, "
                  "{} failed)",
                  m_options.name, elapsed, m_mirror.counters().files_written.load(),
                  m_mirror.counters().bytes_written.load(),
                  m_mirror.counters().entries_removed.load(), failures);
    return failures;
}

void SyncSession::wake() {
    if (m_events)
        m_events->wake();
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
    if (m_events) {
        auto events = m_events->poll(wait);
        now = Clock::now();
        if (!events) {
            m_logger.error("{}: {}", m_options.name, events.error().message);
        } else {
            for (const auto& event : *events) {
                if (m_logger.enabled(base::LogLevel::debug))
                    m_logger.debug("{}: event {} /{}{}{}", m_options.name, to_string(event.kind),
                                   event.path, event.is_directory ? "/" : "",
                                   event.from_path.empty() ? "" : " from /" + event.from_path);
                if (event.kind == EventKind::root_lost) {
                    handle_root_lost(now);
                    continue;
                }
                queue_event(event, now);
            }
        }
    }
    if (m_root_lost && !try_recover_root(now))
        return;
    m_backlog.store(m_pending.size(), std::memory_order_relaxed);
    if (m_pending.is_due(now) || (m_databases && m_databases->is_due(now)))
        run_due_batch(now);
    if (m_databases)
        m_databases->update_gauges(Clock::now());
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
    if (auto root = m_target->check_root(); !root) {
        if (!m_target_lost)
            m_logger.error("{}: {}; holding all changes until it is back", m_options.name,
                           root.error().message);
        m_target_lost = true;
        // Keep the changes; look again after a pause instead of spinning.
        BatchOutcome outcome;
        for (auto& move : batch.moves)
            outcome.failed.push_back(FailedChange{Change{move.to, ChangeKind::tree, 0},
                                                  root.error()});
        for (auto& change : batch.changes)
            outcome.failed.push_back(FailedChange{change, root.error()});
        finish_batch(std::move(outcome), now);
        return;
    }
    if (m_target_lost) {
        m_logger.info("{}: target {} is back", m_options.name, m_target->describe());
        m_target_lost = false;
    }
    if (batch.empty())
        return;
    m_logger.debug("{}: running a batch of {} moves and {} changes", m_options.name,
                   batch.moves.size(), batch.changes.size());
    auto outcome = m_mirror.run_batch(batch, Phase::running);
    if (outcome.rescan_needed) {
        m_logger.info("{}: a file with hard links changed and not all its names are known; "
                      "comparing the tree to find them",
                      m_options.name);
        m_pending.add_change("", ChangeKind::tree, Clock::now());
    }
    for (const auto& failed : outcome.failed)
        m_logger.warning("{}: {} (attempt {}, will retry)", m_options.name, failed.error.message,
                         failed.change.attempts);
    finish_batch(std::move(outcome), Clock::now());
    m_backlog.store(m_pending.size(), std::memory_order_relaxed);
}

void SyncSession::finish_batch(BatchOutcome outcome, TimePoint now) {
    if (m_databases)
        m_databases->record_landed(outcome.snapshots);
    requeue_failures(std::move(outcome), now);
    if (m_databases)
        m_databases->finish_batch(now);
}

void SyncSession::requeue_failures(BatchOutcome outcome, TimePoint now) {
    for (auto& failed : outcome.failed) {
        const TimePoint retry_at =
            now + backoff_for(failed.change.attempts, m_options.max_retry_backoff);
        if (m_databases && m_databases->take_failure(failed, now, retry_at))
            continue;
        m_pending.add_retry(failed.change, retry_at);
    }
}

void SyncSession::handle_root_lost(TimePoint now) {
    if (!m_root_lost)
        m_logger.error("{}: source directory {} vanished or was unmounted; nothing is deleted on "
                       "the target while it is gone",
                       m_options.name, m_options.source.string());
    m_root_lost = true;
    m_next_root_check = now;
}

bool SyncSession::try_recover_root(TimePoint now) {
    if (now < m_next_root_check)
        return false;
    m_next_root_check = now + k_lost_root_check_interval;
    struct stat st {};
    if (::stat(m_options.source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return false;
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
    Batch everything;
    everything.changes.push_back(Change{"", ChangeKind::tree, 0});
    finish_batch(m_mirror.run_batch(everything, Phase::recovery), now);
    return true;
}

} // namespace fsmirror::engine
