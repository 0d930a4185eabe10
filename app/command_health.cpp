// `fsmirror health`: runs the health checks once against the running daemon's status and the
// live system, prints why, and exits as a Nagios plugin does (0 OK, 1 WARNING, 2 CRITICAL).

#include "app/commands.hpp"
#include "app/inspect_options.hpp"
#include "app/monitor_setup.hpp"
#include "config/yaml_loader.hpp"
#include "monitor/health_checks.hpp"
#include "monitor/monitor_service.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

constexpr int k_nagios_unknown = 3;

constexpr const char* k_health_help = R"(NAME
    fsmirror health - check a running fsmirror once, as a monitoring plugin

SYNOPSIS
    fsmirror health [--config FILE] [--state-dir DIR]

DESCRIPTION
    Runs the daemon's health checks once: whether the daemon runs and its status is fresh,
    each sync's state, backlog (count and age), failing transfers, source and target
    present, target disk space and inodes, configured mount points, inotify watches. It
    reads the daemon's status.json and looks at the file systems itself.
    Prints one summary line (Nagios plugin format, with performance data), then one line
    per problem. For a systemd timer, cron, Nagios/Icinga, or a person.

OPTIONS
    -c, --config FILE
        The daemon's configuration: its thresholds (monitor:), mount points and state_dir.
        Without it the defaults are used, and the syncs are those in the status.
    --state-dir DIR
        Where the daemon keeps status.json (default: state_dir of --config, else
        $STATE_DIRECTORY, else /var/lib/fsmirror).
    -h, --help
        This text.

EXIT STATUS
    0   OK
    1   WARNING (for example a backlog above the threshold, failing transfers)
    2   CRITICAL (daemon not running, source or target gone, disk nearly full, ...)
    3   UNKNOWN: bad flags or an unreadable configuration
)";

} // namespace

int command_health(const CommandContext& context) {
    InspectOptions options;
    config::Config config;
    try {
        options = parse_inspect_options(context.args, context.working_directory, "health",
                                        JsonFlag::refused);
        if (options.help_requested) {
            std::fputs(k_health_help, stdout);
            return k_exit_ok;
        }
        config = inspect_config(options);
    } catch (const std::exception& error) {
        std::printf("FSMIRROR UNKNOWN: %s\n", error.what());
        return k_nagios_unknown;
    }

    const auto location = status_json_path(config);
    const auto report = read_status_report(location);
    const auto now = monitor::WallClock::now();
    monitor::HealthInput input;
    if (report) {
        const auto descriptions =
            config.syncs.empty() ? report->descriptions : describe_syncs(config);
        std::vector<std::string> mountpoints;
        for (const auto& path : config.monitor.mountpoints)
            mountpoints.push_back(path.string());
        input = monitor::gather_health_input(descriptions, report->syncs, mountpoints, now);
        input.status_written = report->written;
        input.daemon_pid = report->pid;
        input.daemon_alive = process_alive(report->pid);
        // A stopped daemon leaves its last status behind, which says so.
        for (const auto& sync : report->syncs)
            if (sync.state == monitor::SyncState::stopped)
                input.daemon_alive = false;
    } else if (report.error().kind != base::ErrorKind::not_found) {
        std::printf("FSMIRROR UNKNOWN: %s\n", report.error().message.c_str());
        return k_nagios_unknown;
    }
    input.now = now;
    input.from_outside = true;
    input.status_location = location.string();

    const auto alerts = monitor::evaluate_health(input, health_thresholds(config));
    const auto severity = monitor::worst_severity(alerts);

    std::string perfdata;
    if (report)
        for (const auto& sync : report->syncs)
            perfdata += fmt::format(" backlog_{}={};{}", sync.name, sync.backlog,
                                    config.monitor.backlog_threshold);
    std::string headline;
    if (alerts.empty()) {
        std::size_t backlog = 0;
        for (const auto& sync : report->syncs)
            backlog += sync.backlog;
        headline = fmt::format("{} sync(s) mirroring, backlog {}", report->syncs.size(), backlog);
    } else {
        headline = alerts.front().message;
        if (alerts.size() > 1)
            headline += fmt::format(" (and {} more)", alerts.size() - 1);
    }
    std::printf("FSMIRROR %s: %s%s%s\n", monitor::to_string(severity), headline.c_str(),
                perfdata.empty() ? "" : " |", perfdata.c_str());
    for (const auto& alert : alerts)
        std::printf("%s %s: %s\n", monitor::to_string(alert.severity),
                    monitor::to_string(alert.kind), alert.message.c_str());
    return static_cast<int>(severity);
}

} // namespace fsmirror::app
