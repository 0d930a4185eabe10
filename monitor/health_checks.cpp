#include "monitor/health_checks.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

namespace fsmirror::monitor {

namespace {

constexpr std::array k_kind_names = {
    std::pair{AlertKind::daemon, "daemon"},
    std::pair{AlertKind::backlog, "backlog"},
    std::pair{AlertKind::disk_space, "disk_space"},
    std::pair{AlertKind::inodes, "inodes"},
    std::pair{AlertKind::sync_errors, "sync_errors"},
    std::pair{AlertKind::source, "source"},
    std::pair{AlertKind::target, "target"},
    std::pair{AlertKind::mount, "mount"},
    std::pair{AlertKind::inotify_watches, "inotify_watches"},
    std::pair{AlertKind::recovery_point, "recovery_point"},
    std::pair{AlertKind::mass_delete, "mass_delete"},
    std::pair{AlertKind::target_refused, "target_refused"},
};

constexpr std::array k_severity_names = {
    std::pair{Severity::ok, "OK"},
    std::pair{Severity::warning, "WARNING"},
    std::pair{Severity::critical, "CRITICAL"},
};

std::chrono::seconds age(WallTime now, WallTime then) {
    return std::max(std::chrono::seconds(0),
                    std::chrono::duration_cast<std::chrono::seconds>(now - then));
}

class Checker {
public:
    Checker(const HealthInput& input, const HealthThresholds& thresholds)
        : m_input(input), m_limits(thresholds) {}

    std::vector<Alert> run() {
        if (m_input.from_outside && !check_daemon())
            return take();
        for (const auto& sync : m_input.syncs)
            check_sync(sync);
        for (const auto& mount : m_input.mountpoints)
            check_mountpoint(mount);
        check_watches();
        return take();
    }

private:
    void add(AlertKind kind, Severity severity, std::string subject, std::string message) {
        m_alerts.push_back(Alert{kind, severity, std::move(subject), std::move(message)});
    }

    std::vector<Alert> take() {
        std::stable_sort(m_alerts.begin(), m_alerts.end(),
                         [](const Alert& a, const Alert& b) { return a.severity > b.severity; });
        return std::move(m_alerts);
    }

    // Returns false when there is no usable status, so the other checks cannot run.
    bool check_daemon() {
        if (!m_input.status_written) {
            add(AlertKind::daemon, Severity::critical, "fsmirror",
                fmt::format("no status at {}: fsmirror is not running (or runs with another "
                            "state directory)",
                            m_input.status_location));
            return false;
        }
        const auto since = age(m_input.now, *m_input.status_written);
        if (!m_input.daemon_alive) {
            add(AlertKind::daemon, Severity::critical, "fsmirror",
                fmt::format("fsmirror (pid {}) is not running; its last status at {} is {} old",
                            m_input.daemon_pid, m_input.status_location, human_duration(since)));
            return false;
        }
        if (since > m_limits.stale_after) {
            add(AlertKind::daemon, Severity::critical, "fsmirror",
                fmt::format("status at {} was last written {} ago: fsmirror is not running or "
                            "is hung",
                            m_input.status_location, human_duration(since)));
            return false;
        }
        return true;
    }

    void check_sync(const SyncHealthInput& sync) {
        if (!sync.source.exists)
            add(AlertKind::source, Severity::critical, sync.name,
                fmt::format("{}: source {} is missing or not an accessible directory", sync.name,
                            sync.source.path));
        if (sync.target && !sync.target->exists)
            add(AlertKind::target, Severity::critical, sync.name,
                fmt::format("{}: target {} is missing or not an accessible directory", sync.name,
                            sync.target->path));
        if (sync.target && sync.target->exists && sync.target->disk)
            check_disk(sync.name, sync.target->path, *sync.target->disk);
        if (!sync.status) {
            if (m_input.from_outside)
                add(AlertKind::daemon, Severity::warning, sync.name,
                    fmt::format("{}: configured, but not in the daemon's status (not started, "
                                "or the daemon runs another configuration)",
                                sync.name));
            return;
        }
        check_status(sync, *sync.status);
    }

    void check_status(const SyncHealthInput& sync, const SyncStatus& status) {
        if (status.state == SyncState::source_lost && sync.source.exists)
            add(AlertKind::source, Severity::critical, sync.name,
                fmt::format("{}: source {} vanished or was unmounted; changes are not mirrored "
                            "until it is back",
                            sync.name, status.source));
        if (status.state == SyncState::target_lost)
            add(AlertKind::target, Severity::critical, sync.name,
                fmt::format("{}: target {} cannot be reached; {} changes held: {}", sync.name,
                            status.target, status.backlog, status.last_error));
        if (status.state == SyncState::target_refused)
            add(AlertKind::target_refused, Severity::critical, sync.name,
                fmt::format("{}: target {} is refused by its pre-flight checks and nothing is "
                            "written there; {} changes held: {}",
                            sync.name, status.target, status.backlog, status.last_error));
        if (status.state == SyncState::source_lost || status.state == SyncState::target_lost ||
            status.state == SyncState::target_refused)
            return;
        if (status.held_deletions > 0)
            add(AlertKind::mass_delete, Severity::critical, sync.name,
                fmt::format("{}: the mass-delete guard holds {} deletions ({}); nothing was "
                            "deleted. Check the source, then run `fsmirror resume --name {}` to "
                            "let them through",
                            sync.name, status.held_deletions,
                            status.paused_reason.empty() ? "no reason recorded"
                                                         : status.paused_reason,
                            sync.name));

        if (status.state != SyncState::initial_sync) {
            const auto oldest = status.oldest_pending
                                    ? std::optional(age(m_input.now, *status.oldest_pending))
                                    : std::nullopt;
            const std::string oldest_text =
                oldest ? fmt::format("the oldest waiting for {}", human_duration(*oldest)) : "";
            if (status.backlog > m_limits.backlog)
                add(AlertKind::backlog, Severity::warning, sync.name,
                    fmt::format("{}: {} changes pending (threshold {}){}{}", sync.name,
                                status.backlog, m_limits.backlog, oldest ? ", " : "", oldest_text));
            else if (oldest && *oldest > m_limits.backlog_age)
                add(AlertKind::backlog, Severity::warning, sync.name,
                    fmt::format("{}: {} changes pending, {} (threshold {})", sync.name,
                                status.backlog, oldest_text, human_duration(m_limits.backlog_age)));
        }

        if (status.databases) {
            const auto unmirrored = std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::milliseconds(status.databases->unmirrored_age_ms));
            if (unmirrored > m_limits.recovery_point)
                add(AlertKind::recovery_point, Severity::warning, sync.name,
                    fmt::format("{}: {} SQLite database(s) have changes not on the target for {} "
                                "(threshold {})",
                                sync.name, status.databases->databases_unmirrored,
                                human_duration(unmirrored),
                                human_duration(m_limits.recovery_point)));
        }

        const bool last_batch_failed =
            status.last_error_time &&
            (!status.last_success_time || *status.last_error_time > *status.last_success_time);
        if (status.retrying > 0)
            add(AlertKind::sync_errors, Severity::warning, sync.name,
                fmt::format("{}: {} changes failed and are being retried; last error: {}",
                            sync.name, status.retrying,
                            status.last_error.empty() ? "unknown" : status.last_error));
        else if (last_batch_failed)
            add(AlertKind::sync_errors, Severity::warning, sync.name,
                fmt::format("{}: the last transfer failed: {}", sync.name, status.last_error));
    }

    void check_disk(const std::string& name, const std::string& path, const DiskUsage& disk) {
        const double used = disk.used_percent();
        const std::string text =
            fmt::format("{}: target file system at {} is {:.1f}% full ({} free of {})", name, path,
                        used, human_bytes(disk.available_bytes), human_bytes(disk.total_bytes));
        if (used >= m_limits.disk_critical_percent)
            add(AlertKind::disk_space, Severity::critical, name,
                text + fmt::format(" (critical at {:g}%)", m_limits.disk_critical_percent));
        else if (used >= m_limits.disk_warning_percent)
            add(AlertKind::disk_space, Severity::warning, name,
                text + fmt::format(" (threshold {:g}%)", m_limits.disk_warning_percent));
        const double inodes = disk.inodes_used_percent();
        if (inodes >= m_limits.inode_warning_percent)
            add(AlertKind::inodes, Severity::warning, name,
                fmt::format("{}: target file system at {} has used {:.1f}% of its inodes ({} "
                            "free; threshold {:g}%)",
                            name, path, inodes, disk.free_inodes, m_limits.inode_warning_percent));
    }

    void check_mountpoint(const PathProbe& mount) {
        if (!mount.exists)
            add(AlertKind::mount, Severity::critical, mount.path,
                fmt::format("{} is missing: the volume is not mounted", mount.path));
        else if (!mount.is_mountpoint)
            add(AlertKind::mount, Severity::critical, mount.path,
                fmt::format("{} is not a mount point: the volume is not mounted", mount.path));
    }

    void check_watches() {
        if (!m_input.max_user_watches || *m_input.max_user_watches == 0)
            return;
        const double used = 100.0 * static_cast<double>(m_input.watches_in_use) /
                            static_cast<double>(*m_input.max_user_watches);
        if (used >= m_limits.watches_warning_percent)
            add(AlertKind::inotify_watches, Severity::warning, "inotify",
                fmt::format("{} inotify watches in use, {:.0f}% of the limit {}: raise "
                            "fs.inotify.max_user_watches (sysctl)",
                            m_input.watches_in_use, used, *m_input.max_user_watches));
    }

    const HealthInput& m_input;
    const HealthThresholds& m_limits;
    std::vector<Alert> m_alerts;
};

} // namespace

const char* to_string(Severity severity) {
    for (const auto& [value, name] : k_severity_names)
        if (value == severity)
            return name;
    return "UNKNOWN";
}

std::optional<Severity> parse_severity(std::string_view text) {
    for (const auto& [value, name] : k_severity_names)
        if (text == name)
            return value;
    return std::nullopt;
}

const char* to_string(AlertKind kind) {
    for (const auto& [value, name] : k_kind_names)
        if (value == kind)
            return name;
    return "unknown";
}

std::optional<AlertKind> parse_alert_kind(std::string_view text) {
    for (const auto& [value, name] : k_kind_names)
        if (text == name)
            return value;
    return std::nullopt;
}

double DiskUsage::used_percent() const {
    const std::uint64_t used = total_bytes > free_bytes ? total_bytes - free_bytes : 0;
    const std::uint64_t usable = used + available_bytes;
    return usable == 0 ? 0.0 : 100.0 * static_cast<double>(used) / static_cast<double>(usable);
}

double DiskUsage::inodes_used_percent() const {
    if (total_inodes == 0)
        return 0.0; // file systems without an inode limit (btrfs) report 0
    const std::uint64_t used = total_inodes > free_inodes ? total_inodes - free_inodes : 0;
    return 100.0 * static_cast<double>(used) / static_cast<double>(total_inodes);
}

std::vector<Alert> evaluate_health(const HealthInput& input, const HealthThresholds& thresholds) {
    return Checker(input, thresholds).run();
}

Severity worst_severity(const std::vector<Alert>& alerts) {
    Severity worst = Severity::ok;
    for (const auto& alert : alerts)
        worst = std::max(worst, alert.severity);
    return worst;
}

std::string human_bytes(std::uint64_t bytes) {
    constexpr std::array units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024)
        return fmt::format("{} B", bytes);
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < units.size()) {
        value /= 1024;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string human_duration(std::chrono::seconds duration) {
    auto total = std::max<long long>(0, duration.count());
    const long long days = total / 86400;
    const long long hours = total % 86400 / 3600;
    const long long minutes = total % 3600 / 60;
    const long long seconds = total % 60;
    if (days > 0)
        return hours > 0 ? fmt::format("{} d {} h", days, hours) : fmt::format("{} d", days);
    if (hours > 0)
        return minutes > 0 ? fmt::format("{} h {} min", hours, minutes)
                           : fmt::format("{} h", hours);
    if (minutes > 0)
        return seconds > 0 ? fmt::format("{} min {} s", minutes, seconds)
                           : fmt::format("{} min", minutes);
    return fmt::format("{} s", seconds);
}

} // namespace fsmirror::monitor
