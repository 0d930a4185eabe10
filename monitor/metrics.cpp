#include "monitor/metrics.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace fsmirror::monitor {

namespace {

double epoch_seconds(WallTime time) {
    return std::chrono::duration<double>(time.time_since_epoch()).count();
}

class Exposition {
public:
    // Starts a metric family; every sample() until the next family belongs to it.
    void family(const std::string& name, const char* type, const char* help) {
        m_name = name;
        m_text += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }

    void sample(const std::string& labels, double value) {
        m_text += m_name;
        if (!labels.empty())
            m_text += "{" + labels + "}";
        m_text += fmt::format(" {}\n", value);
    }

    std::string take() { return std::move(m_text); }

private:
    std::string m_name;
    std::string m_text;
};

std::string sync_label(const SyncStatus& sync) {
    return fmt::format("sync=\"{}\"", escape_label_value(sync.name));
}

template <class Getter>
void per_sync(Exposition& out, const StatusReport& report, const std::string& name,
              const char* type, const char* help, Getter get) {
    out.family(name, type, help);
    for (const auto& sync : report.syncs)
        out.sample(sync_label(sync), static_cast<double>(get(sync)));
}

constexpr SyncState k_all_states[] = {
    SyncState::starting,    SyncState::initial_sync,     SyncState::watching,
    SyncState::syncing,     SyncState::deletions_paused, SyncState::source_lost,
    SyncState::target_lost, SyncState::target_refused,   SyncState::stopped};

constexpr AlertKind k_all_kinds[] = {
    AlertKind::daemon,         AlertKind::backlog,     AlertKind::disk_space,
    AlertKind::inodes,         AlertKind::sync_errors, AlertKind::source,
    AlertKind::target,         AlertKind::mount,       AlertKind::inotify_watches,
    AlertKind::recovery_point, AlertKind::mass_delete, AlertKind::target_refused};

} // namespace

std::string escape_label_value(const std::string& value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string format_metrics(const StatusReport& report) {
    Exposition out;
    out.family("fsmirror_up", "gauge", "1 while the daemon runs (written by the daemon itself).");
    out.sample("", 1);
    out.family("fsmirror_start_time_seconds", "gauge", "When the daemon started (Unix time).");
    out.sample("", epoch_seconds(report.started));
    out.family("fsmirror_status_time_seconds", "gauge", "When these figures were taken.");
    out.sample("", epoch_seconds(report.written));

    out.family("fsmirror_sync_state", "gauge", "1 for the state each sync is in, else 0.");
    for (const auto& sync : report.syncs)
        for (SyncState state : k_all_states)
            out.sample(fmt::format("{},state=\"{}\"", sync_label(sync), to_string(state)),
                       sync.state == state ? 1 : 0);
    per_sync(out, report, "fsmirror_sync_initial_sync_done", "gauge",
             "1 once the initial sync has finished.",
             [](const SyncStatus& s) { return s.initial_sync_done ? 1 : 0; });
    per_sync(out, report, "fsmirror_sync_backlog", "gauge", "Changes waiting to be mirrored.",
             [](const SyncStatus& s) { return s.backlog; });
    per_sync(out, report, "fsmirror_sync_retrying", "gauge",
             "Changes waiting for a retry after a failure.",
             [](const SyncStatus& s) { return s.retrying; });
    per_sync(out, report, "fsmirror_sync_oldest_pending_seconds", "gauge",
             "How long the oldest pending change has waited (0 when none).",
             [&](const SyncStatus& s) {
                 return s.oldest_pending ? std::max(0.0, std::chrono::duration<double>(
                                                             report.written - *s.oldest_pending)
                                                             .count())
                                         : 0.0;
             });
    per_sync(out, report, "fsmirror_sync_watched_directories", "gauge",
             "Directories watched with inotify.",
             [](const SyncStatus& s) { return s.watch_count; });
    per_sync(out, report, "fsmirror_sync_files_written_total", "counter",
             "Files written to the target since start.",
             [](const SyncStatus& s) { return s.counters.files_written; });
    per_sync(out, report, "fsmirror_sync_bytes_written_total", "counter",
             "Bytes written to the target since start.",
             [](const SyncStatus& s) { return s.counters.bytes_written; });
    per_sync(out, report, "fsmirror_sync_entries_removed_total", "counter",
             "Entries deleted on the target since start.",
             [](const SyncStatus& s) { return s.counters.entries_removed; });
    per_sync(out, report, "fsmirror_sync_renames_total", "counter",
             "Renames carried out on the target since start.",
             [](const SyncStatus& s) { return s.counters.renames; });
    per_sync(out, report, "fsmirror_sync_failures_total", "counter",
             "Failed attempts to mirror an entry since start.",
             [](const SyncStatus& s) { return s.counters.failures; });
    per_sync(out, report, "fsmirror_sync_last_success_time_seconds", "gauge",
             "When a batch last finished without a failure (0: never).", [](const SyncStatus& s) {
                 return s.last_success_time ? epoch_seconds(*s.last_success_time) : 0.0;
             });

    const bool any_databases = std::any_of(report.syncs.begin(), report.syncs.end(),
                                           [](const SyncStatus& s) { return s.databases; });
    if (any_databases) {
        const auto per_database_sync = [&](const std::string& name, const char* type,
                                           const char* help, auto get) {
            out.family(name, type, help);
            for (const auto& sync : report.syncs)
                if (sync.databases)
                    out.sample(sync_label(sync), get(*sync.databases));
        };
        per_database_sync(
            "fsmirror_sqlite_snapshots_total", "counter",
            "SQLite snapshots that landed on the target.",
            [](const DatabaseFigures& d) { return static_cast<double>(d.snapshots); });
        per_database_sync(
            "fsmirror_sqlite_snapshot_failures_total", "counter",
            "SQLite snapshot attempts that failed (retried).",
            [](const DatabaseFigures& d) { return static_cast<double>(d.snapshot_failures); });
        per_database_sync("fsmirror_sqlite_unmirrored_age_seconds", "gauge",
                          "Age of the oldest SQLite change not yet on the target (0: none).",
                          [](const DatabaseFigures& d) {
                              return static_cast<double>(d.unmirrored_age_ms) / 1000.0;
                          });
        per_database_sync("fsmirror_sqlite_last_recovery_point_seconds", "gauge",
                          "Recovery point achieved by the last snapshot that carried changes.",
                          [](const DatabaseFigures& d) {
                              return static_cast<double>(d.last_recovery_point_ms) / 1000.0;
                          });
    }

    if (!report.target_disks.empty()) {
        out.family("fsmirror_target_used_ratio", "gauge",
                   "Used space of the target file system, 0 to 1 (as df computes it).");
        for (const auto& [name, disk] : report.target_disks)
            out.sample(fmt::format("sync=\"{}\"", escape_label_value(name)),
                       disk.used_percent() / 100.0);
        out.family("fsmirror_target_available_bytes", "gauge",
                   "Space available to unprivileged users on the target file system.");
        for (const auto& [name, disk] : report.target_disks)
            out.sample(fmt::format("sync=\"{}\"", escape_label_value(name)),
                       static_cast<double>(disk.available_bytes));
        out.family("fsmirror_target_inodes_used_ratio", "gauge",
                   "Used inodes of the target file system, 0 to 1.");
        for (const auto& [name, disk] : report.target_disks)
            out.sample(fmt::format("sync=\"{}\"", escape_label_value(name)),
                       disk.inodes_used_percent() / 100.0);
    }

    out.family("fsmirror_alerts", "gauge", "Alerts of each kind found by the last health check.");
    for (AlertKind kind : k_all_kinds) {
        std::size_t count = 0;
        for (const auto& alert : report.alerts)
            count += alert.kind == kind ? 1 : 0;
        out.sample(fmt::format("kind=\"{}\"", to_string(kind)), static_cast<double>(count));
    }
    out.family("fsmirror_health_status", "gauge",
               "Worst severity of the last health check: 0 ok, 1 warning, 2 critical.");
    out.sample("", static_cast<double>(worst_severity(report.alerts)));
    return out.take();
}

} // namespace fsmirror::monitor
