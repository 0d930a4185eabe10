// `fsmirror status`: a summary of each sync of the running daemon, read from its status.json.

#include "app/commands.hpp"
#include "app/inspect_options.hpp"
#include "app/monitor_setup.hpp"
#include "monitor/health_checks.hpp"
#include "monitor/status_file.hpp"
#include "monitor/status_json.hpp"
#include "monitor/system_probe.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_status_help = R"(NAME
    fsmirror status - show what a running fsmirror is doing

SYNOPSIS
    fsmirror status [--config FILE] [--state-dir DIR] [--json]

DESCRIPTION
    Prints, for each sync of the running daemon: its state, the backlog (pending changes,
    how many wait for a retry, the oldest), the last successful sync, errors, what was
    written since start and the average rate, and the target's disk use. Read from the
    status.json the daemon rewrites every status interval (its age is shown; a stale one
    means the daemon is not running or is hung).

OPTIONS
    -c, --config FILE
        Find the status through the state_dir of this configuration.
    --state-dir DIR
        The daemon's state directory (default: state_dir of --config, else
        $STATE_DIRECTORY, else /var/lib/fsmirror).
    --json
        Print the status document itself (fields: see docs/monitoring.md).
    -h, --help
        This text.

EXIT STATUS
    0   the status was read
    1   there is no status (the daemon is not running, or uses another state directory)
    2   a usage or configuration error
)";

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::seconds;

std::string ago(monitor::WallTime now, monitor::WallTime then) {
    return monitor::human_duration(duration_cast<seconds>(now - then)) + " ago";
}

void print_sync(const monitor::StatusReport& report, const monitor::SyncStatus& sync,
                monitor::WallTime now) {
    const auto* description = report.description(sync.name);
    std::printf("%s: %s%s\n", sync.name.c_str(), monitor::to_string(sync.state),
                sync.initial_sync_done ? "" : " (initial sync not finished)");
    std::printf("  source      %s/\n", sync.source.c_str());
    std::printf("  target      %s\n", sync.target.c_str());
    std::string backlog =
        fmt::format("{} pending ({} waiting for a retry)", sync.backlog, sync.retrying);
    if (sync.oldest_pending)
        backlog += ", oldest since " + ago(now, *sync.oldest_pending);
    std::printf("  backlog     %s\n", backlog.c_str());
    std::printf("  last sync   %s\n",
                sync.last_success_time
                    ? fmt::format("{} ({})", monitor::lsyncd_date(*sync.last_success_time),
                                  ago(now, *sync.last_success_time))
                          .c_str()
                    : "never");
    std::printf("  errors      %s\n",
                sync.last_error.empty()
                    ? fmt::format("{} failures, none recent", sync.counters.failures).c_str()
                    : fmt::format("{} failures; last {}: {}", sync.counters.failures,
                                  sync.last_error_time ? ago(now, *sync.last_error_time) : "?",
                                  sync.last_error)
                          .c_str());
    const double uptime = std::max(1.0, duration<double>(report.written - sync.started).count());
    std::printf("  throughput  %s\n",
                fmt::format("{} files, {} written ({}/s on average since start), {} deleted, {} "
                            "renamed",
                            sync.counters.files_written,
                            monitor::human_bytes(sync.counters.bytes_written),
                            monitor::human_bytes(static_cast<std::uint64_t>(
                                static_cast<double>(sync.counters.bytes_written) / uptime)),
                            sync.counters.entries_removed, sync.counters.renames)
                    .c_str());
    std::optional<monitor::DiskUsage> disk;
    if (description && description->target_path)
        disk = monitor::probe_path(*description->target_path, monitor::Disk::yes).disk;
    if (!disk)
        if (auto found = report.target_disks.find(sync.name); found != report.target_disks.end())
            disk = found->second;
    std::printf(
        "  disk use    %s\n",
        disk ? fmt::format("{:.1f}% used, {} free of {}; inodes {:.1f}% used", disk->used_percent(),
                           monitor::human_bytes(disk->available_bytes),
                           monitor::human_bytes(disk->total_bytes), disk->inodes_used_percent())
                   .c_str()
             : "unknown");
    std::printf("  watching    %zu directories\n", sync.watch_count);
}

} // namespace

int command_status(const CommandContext& context) {
    InspectOptions options;
    config::Config config;
    try {
        options = parse_inspect_options(context.args, context.working_directory, "status",
                                        JsonFlag::allowed);
        if (options.help_requested) {
            std::fputs(k_status_help, stdout);
            return k_exit_ok;
        }
        config = inspect_config(options);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "fsmirror status: %s\n", error.what());
        return k_exit_usage;
    }
    const auto location = status_json_path(config);
    const auto report = read_status_report(location);
    if (!report) {
        std::fprintf(stderr, "fsmirror status: %s%s\n", report.error().message.c_str(),
                     report.error().kind == base::ErrorKind::not_found
                         ? " (is fsmirror running? give --state-dir or --config)"
                         : "");
        return k_exit_failure;
    }
    if (options.json) {
        std::fputs(monitor::status_to_json(*report).c_str(), stdout);
        return k_exit_ok;
    }
    const auto now = monitor::WallClock::now();
    const bool alive = process_alive(report->pid);
    std::printf(
        "fsmirror on %s, pid %ld%s, up %s; status written %s\n", report->hostname.c_str(),
        report->pid, alive ? "" : " (NOT RUNNING)",
        monitor::human_duration(duration_cast<seconds>(report->written - report->started)).c_str(),
        ago(now, report->written).c_str());
    const auto stale = health_thresholds(config).stale_after;
    if (now - report->written > stale)
        std::printf("warning: the status is older than %s: the daemon is not running or hung\n",
                    monitor::human_duration(stale).c_str());
    std::printf("health: %s\n", monitor::to_string(monitor::worst_severity(report->alerts)));
    for (const auto& alert : report->alerts)
        std::printf("  %s %s: %s\n", monitor::to_string(alert.severity),
                    monitor::to_string(alert.kind), alert.message.c_str());
    for (const auto& sync : report->syncs) {
        std::printf("\n");
        print_sync(*report, sync, now);
    }
    return k_exit_ok;
}

} // namespace fsmirror::app
