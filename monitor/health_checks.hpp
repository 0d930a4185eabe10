#pragma once
// The health checks: pure functions from what is known (the syncs' snapshots and what was
// probed on the system) to a list of alerts. No IO and no clock: callers pass `now`.

#include "monitor/sync_status.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::monitor {

// Nagios' order: the exit status of `fsmirror health` is the worst severity.
enum class Severity : std::uint8_t { ok = 0, warning = 1, critical = 2 };

const char* to_string(Severity severity); // "OK", "WARNING", "CRITICAL"
std::optional<Severity> parse_severity(std::string_view name);

// What an alert is about; mails are rate-limited per kind.
enum class AlertKind : std::uint8_t {
    daemon,          // the daemon is not running or its status is stale
    backlog,         // too many pending changes, or one pending too long
    disk_space,      // the target file system is nearly full
    inodes,          // the target file system is nearly out of inodes
    sync_errors,     // transfers are failing
    source,          // a source vanished or was unmounted
    target,          // a target vanished, was unmounted or is unreachable
    mount,           // a path that must be a mount point is not
    inotify_watches, // close to the kernel's watch limit
    recovery_point,  // a SQLite database's changes have not reached the target for too long
    mass_delete,     // the mass-delete guard holds deletions until an operator decides
    target_refused,  // a target reached late failed its pre-flight checks; nothing is written
};

const char* to_string(AlertKind kind); // "disk_space"
std::optional<AlertKind> parse_alert_kind(std::string_view name);

struct Alert {
    AlertKind kind = AlertKind::daemon;
    Severity severity = Severity::warning;
    std::string subject; // what it is about: a sync's name or a path
    std::string message; // one line for a human, saying what and how bad

    bool operator==(const Alert&) const = default;
};

// Space and inodes of one file system (statvfs), as seen by an unprivileged user.
struct DiskUsage {
    std::uint64_t total_bytes = 0;
    std::uint64_t available_bytes = 0; // for unprivileged users (f_bavail)
    std::uint64_t free_bytes = 0;      // including the root reserve (f_bfree)
    std::uint64_t total_inodes = 0;
    std::uint64_t free_inodes = 0;

    // Percentages as df computes them: used / (used + available), 0 when unknown.
    double used_percent() const;
    double inodes_used_percent() const;
};

// What was found at a path when the checks ran.
struct PathProbe {
    std::string path;
    bool exists = false; // an accessible directory
    bool is_mountpoint = false;
    std::optional<DiskUsage> disk; // nullopt when statvfs failed or the path is remote
};

// One sync as the checks see it: its snapshot (absent when the daemon has not reported it) and
// the probes of its two ends.
struct SyncHealthInput {
    std::string name;
    std::optional<SyncStatus> status;
    PathProbe source;
    std::optional<PathProbe> target; // nullopt for a remote target
};

struct HealthInput {
    WallTime now{};
    std::vector<SyncHealthInput> syncs;
    std::vector<PathProbe> mountpoints;            // paths configured as monitor.mountpoints
    std::size_t watches_in_use = 0;                // inotify watches held by this daemon
    std::optional<std::uint64_t> max_user_watches; // /proc/sys/fs/inotify/max_user_watches
    // Set when checking from outside the daemon (`fsmirror health`): when the daemon last
    // wrote its status, nullopt when no status was found at all.
    bool from_outside = false;
    std::optional<WallTime> status_written;
    std::string status_location; // for messages
    long daemon_pid = 0;
    bool daemon_alive = true; // the process that wrote the status still exists
};

struct HealthThresholds {
    std::size_t backlog = 100;             // pending changes
    std::chrono::seconds backlog_age{600}; // oldest pending change
    double disk_warning_percent = 90;
    double disk_critical_percent = 98;
    double inode_warning_percent = 90;
    double watches_warning_percent = 90;
    std::chrono::seconds recovery_point{300}; // oldest SQLite change not yet on the target
    std::chrono::seconds stale_after{60};     // status older than this: daemon hung or gone
};

// Runs every check. Returns the alerts, most severe first then in check order; empty when all
// is well.
std::vector<Alert> evaluate_health(const HealthInput& input, const HealthThresholds& thresholds);

// Returns the worst severity among `alerts` (ok for none).
Severity worst_severity(const std::vector<Alert>& alerts);

// Returns "3.2 GiB" style text for a byte count.
std::string human_bytes(std::uint64_t bytes);

// Returns "2 min 5 s" style text for a duration (seconds resolution, at most two units).
std::string human_duration(std::chrono::seconds duration);

} // namespace fsmirror::monitor
