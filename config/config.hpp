#pragma once
// The validated configuration as plain structs. Loaders (native YAML, lsyncd's Lua) produce
// these; every other part takes its own small options struct built from them.

#include "base/logger.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::config {

// lsyncd's delete modes: when deletions on the source are carried to the target.
enum class DeleteMode {
    always,  // at startup and while running (lsyncd's `true`, the default)
    never,   // never (lsyncd's `false`)
    startup, // only during the initial comparison
    running, // only for deletions seen while running
};

// When written data is forced to stable storage.
enum class FsyncPolicy {
    file,  // fsync each file before it is renamed into place (strongest, slowest)
    batch, // one syncfs() of the target file system after each batch (default)
    none,  // leave it to the kernel (rsync's behaviour)
};

// Which of a sync's paths must be mount points (an unmounted volume leaves an empty directory).
enum class RequireMount { none, source, target, both };

// Which kernel facility reports changes (engine::EventSourceKind).
enum class EventsBackend { automatic, inotify, fanotify };

// Which attributes are carried over (rsync's archive set, each switchable).
struct PreserveOptions {
    bool mode = true;
    bool times = true;
    bool links = true; // symlinks as links; false copies the file they point to
    // Owner and group: nullopt means "when running as root", as rsync -a does.
    std::optional<bool> owner;
};

// Whether a host key missing from known_hosts is refused or added (OpenSSH's
// StrictHostKeyChecking yes / accept-new). A changed key is always refused.
enum class HostKeyPolicy { strict, accept_new };

// How an SSH target is reached.
struct SshSettings {
    std::optional<std::filesystem::path> identity_file; // nullopt: ssh-agent, then ~/.ssh/id_*
    std::optional<std::filesystem::path> known_hosts;   // nullopt: ~/.ssh/known_hosts
    HostKeyPolicy host_key_policy = HostKeyPolicy::strict;
    bool compression = false;
    double connect_timeout_seconds = 10;
    double keepalive_seconds = 15;       // 0 disables keepalives
    std::string agent_path = "fsmirror"; // the fsmirror binary on the remote (PATH searched)
};

// A target on another machine: `[user@]host[:port]:/absolute/path`.
struct RemoteTarget {
    std::string user; // empty: the name of the user running fsmirror
    std::string host; // a name or an address (IPv6 without brackets)
    std::uint16_t port = 22;
    std::string path; // absolute on the remote, lexically normal
};

// How SQLite databases in the source are mirrored (docs/sqlite.md).
struct SqliteConfig {
    bool enabled = true; // false: databases and their -wal/-shm/-journal are copied as files
    std::vector<std::string> paths;         // rsync-style patterns; only matching files may be
                                            // databases. Empty: any file with the SQLite header.
    std::optional<double> interval_seconds; // at most one snapshot per database per interval;
                                            // nullopt: the sync's delay
    std::optional<std::filesystem::path> temp_dir; // where snapshots are written before they
                                                   // are sent; nullopt: $TMPDIR/fsmirror or
                                                   // /var/tmp/fsmirror
};

struct SyncConfig {
    std::string name;              // shown in logs and status; defaults to "sync<N>"
    std::filesystem::path source;  // absolute, resolved at load time
    std::string target;            // absolute local path, or a remote target's text
    double delay_seconds = 1.0;    // batching delay; fractions and 0 allowed
    std::size_t max_delays = 1000; // queued paths after which a batch is flushed early
    DeleteMode delete_mode = DeleteMode::always;
    std::vector<std::string> excludes;                 // rsync-style patterns
    std::optional<std::filesystem::path> exclude_from; // one pattern per line
    PreserveOptions preserve;
    bool inplace = false; // update files in place (rsync --inplace)
    FsyncPolicy fsync = FsyncPolicy::batch;
    unsigned workers = 4; // parallel transfers for this sync
    // Mass-delete guard: deletions are held when a batch (with those of the last minute)
    // would remove more than this share of the target, or more than this many entries.
    unsigned max_delete_percent = 50;      // 1-100; 100 turns the share rule off
    std::uint64_t max_delete_files = 1000; // >= 1
    RequireMount require_mount = RequireMount::none;
    double verify_interval_seconds = 0;              // drift repair every so often; 0 = off
    bool verify_checksum = false;                    // drift repair also compares contents
    EventsBackend events = EventsBackend::automatic; // fanotify for huge trees where it can
    std::optional<RemoteTarget> remote; // set when the target is on another machine (SSH)
    SshSettings ssh;                    // how `remote` is reached
    SqliteConfig sqlite;
    // false: skip the startup comparison (lsyncd's init = false).
    bool initial_sync = true;
};

struct LogConfig {
    base::LogLevel level = base::LogLevel::info;
    std::optional<std::filesystem::path> file;
    base::LogStyle style = base::LogStyle::native; // lsyncd: lsyncd's line shapes
};

// lsyncd's settings{} inotifyMode. fsmirror always watches both closed and modified files, so
// every value means the same to it; it is kept for `fsmirror convert` and the docs.
enum class InotifyMode { close_write, modify, close_write_or_modify };

// Process-level settings from lsyncd's settings{} and command line (the command line wins).
// Present only when the configuration came from an lsyncd config or lsyncd's command line.
struct LsyncdSettings {
    bool nodaemon = false; // false: detach as lsyncd does (double fork, setsid)
    std::optional<std::filesystem::path> pid_file; // written at startup, removed at exit
    bool insist = false;               // keep retrying syncs that cannot start instead of exiting
    bool onepass = false;              // run the initial sync, then exit (lsyncd 2.3's -onepass)
    std::string log_facility = "user"; // syslog facility, used when detached without a logfile
    std::string log_ident = "lsyncd";  // syslog identifier, as lsyncd's logident
    std::optional<unsigned long> max_processes; // accepted; fsmirror transfers on `workers`
    InotifyMode inotify_mode = InotifyMode::close_write;
};

// Health checks (`monitor:`): how often, and the thresholds that raise alerts.
struct MonitorConfig {
    double interval_seconds = 300;        // between health checks (also run on events)
    std::size_t backlog_threshold = 100;  // pending changes
    double backlog_max_age_seconds = 600; // oldest pending change
    double disk_usage_percent = 90;       // warning
    double disk_critical_percent = 98;    // critical
    double inode_usage_percent = 90;
    double inotify_watch_percent = 90;              // of fs.inotify.max_user_watches
    double recovery_point_seconds = 300;            // oldest SQLite change not yet on the target
    std::vector<std::filesystem::path> mountpoints; // must be mount points (LUKS volumes, ...)
};

// Mail alerts (`alerts.email:`): through SMTP (smtp_url) or a sendmail-compatible command.
struct EmailAlertConfig {
    std::vector<std::string> to;
    std::string from;                    // empty: fsmirror@<hostname>
    std::optional<std::string> smtp_url; // smtp://host:port or smtps://host:port
    std::optional<std::string> username;
    // The password comes from a file (not readable by others), an environment variable, or
    // inline (then the config file itself must not be readable by others); never from argv.
    std::optional<std::filesystem::path> password_file;
    std::optional<std::string> password_env;
    std::optional<std::string> password;
    bool starttls = false; // smtp:// only: require STARTTLS
    std::optional<std::filesystem::path> ca_file;
    std::vector<std::string> sendmail_command; // argv, e.g. {"/usr/bin/msmtp", "-t"}
};

struct AlertsConfig {
    std::optional<EmailAlertConfig> email;
    std::vector<std::string> exec_command;   // argv; the alert as JSON on stdin
    double rate_limit_window_seconds = 3600; // one mail per alert kind per window
    double retry_seconds = 30;               // first pause after a failed delivery (doubles)
};

struct MetricsConfig {
    std::optional<std::filesystem::path> textfile; // node_exporter textfile collector
    std::optional<std::string> listen;             // "9775" (loopback) or "HOST:PORT"
};

struct Config {
    std::vector<SyncConfig> syncs;
    LogConfig log;
    // Where the daemon keeps per-sync state and control files (<state_dir>/<sync name>/);
    // nullopt: $STATE_DIRECTORY (set by systemd's StateDirectory=) or /var/lib/fsmirror.
    std::optional<std::filesystem::path> state_dir;
    std::optional<std::filesystem::path> source_file; // where it was loaded from, for SIGHUP
    std::optional<LsyncdSettings> lsyncd;             // set by the lsyncd loader only
    // lsyncd's statusFile layout; the daemon's own status.json lives in the state directory.
    std::optional<std::filesystem::path> status_file;
    double status_interval_seconds = 10; // lsyncd's statusInterval default
    MonitorConfig monitor;
    AlertsConfig alerts;
    MetricsConfig metrics;
};

} // namespace fsmirror::config
