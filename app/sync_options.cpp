#include "app/sync_options.hpp"

#include "config/remote_target.hpp"
#include "config/yaml_loader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

using config::DeleteMode;
using config::FsyncPolicy;

std::filesystem::path resolve(const std::string& value, const std::filesystem::path& cwd) {
    std::filesystem::path path(value);
    if (path.is_relative())
        path = cwd / path;
    path = path.lexically_normal();
    if (!path.has_filename() && path.has_relative_path())
        path = path.parent_path(); // "/a/b/" -> "/a/b", so names compare equal
    return path;
}

double parse_seconds(const std::string& flag, const std::string& value) {
    double seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size() || !std::isfinite(seconds) ||
        seconds < 0)
        throw UsageError(fmt::format("{} takes a number of seconds >= 0 (fractions allowed), "
                                     "got '{}'",
                                     flag, value));
    return seconds;
}

unsigned long parse_count(const std::string& flag, const std::string& value, unsigned long low,
                          unsigned long high) {
    unsigned long number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || end != value.data() + value.size() || number < low || number > high)
        throw UsageError(
            fmt::format("{} takes a whole number from {} to {}, got '{}'", flag, low, high, value));
    return number;
}

DeleteMode parse_delete_mode(const std::string& value) {
    if (value == "true")
        return DeleteMode::always;
    if (value == "false")
        return DeleteMode::never;
    if (value == "startup")
        return DeleteMode::startup;
    if (value == "running")
        return DeleteMode::running;
    throw UsageError("--delete takes true, false, startup or running, got '" + value + "'");
}

config::RequireMount parse_require_mount(const std::string& value) {
    if (value == "none")
        return config::RequireMount::none;
    if (value == "source")
        return config::RequireMount::source;
    if (value == "target")
        return config::RequireMount::target;
    if (value == "both")
        return config::RequireMount::both;
    throw UsageError("--require-mount takes none, source, target or both, got '" + value + "'");
}

config::EventsBackend parse_events(const std::string& value) {
    if (value == "auto")
        return config::EventsBackend::automatic;
    if (value == "inotify")
        return config::EventsBackend::inotify;
    if (value == "fanotify")
        return config::EventsBackend::fanotify;
    throw UsageError("--events takes inotify, fanotify or auto, got '" + value + "'");
}

config::HostKeyPolicy parse_host_key_policy(const std::string& value) {
    if (value == "strict")
        return config::HostKeyPolicy::strict;
    if (value == "accept-new")
        return config::HostKeyPolicy::accept_new;
    throw UsageError("--host-key-policy takes strict or accept-new, got '" + value + "'");
}

FsyncPolicy parse_fsync(const std::string& value) {
    if (value == "file")
        return FsyncPolicy::file;
    if (value == "batch")
        return FsyncPolicy::batch;
    if (value == "none")
        return FsyncPolicy::none;
    throw UsageError("--fsync takes file, batch or none, got '" + value + "'");
}

} // namespace

bool SyncSelection::has(const std::string& command_switch) const {
    if (switches.contains(command_switch))
        return true;
    if (command_switch == "--skip-safety") {
        const char* value = std::getenv("FSMIRROR_SKIP_SAFETY");
        return value && (std::string_view(value) == "true" || std::string_view(value) == "1");
    }
    return false;
}

SyncSelection parse_sync_options(const std::vector<std::string>& args,
                                 const std::filesystem::path& working_directory,
                                 const std::string& verb,
                                 const std::vector<std::string>& command_switches) {
    SyncSelection command;

    config::SyncConfig sync;
    std::optional<std::string> source;
    std::vector<std::string> targets;
    std::vector<std::string> sync_flags; // flags that describe a sync, refused with --config
    std::vector<std::string> ssh_flags;  // flags that only make sense for an SSH target

    using Handler = std::function<void(const std::string&)>;
    const std::map<std::string, Handler> with_value = {
        {"--config",
         [&](const std::string& v) {
             command.config_file = resolve(v, working_directory);
         }},
        {"--source",
         [&](const std::string& v) {
             source = v;
         }},
        {"--target",
         [&](const std::string& v) {
             targets.push_back(v);
         }},
        {"--identity",
         [&](const std::string& v) {
             sync.ssh.identity_file = resolve(v, working_directory);
             ssh_flags.push_back("--identity");
         }},
        {"--known-hosts",
         [&](const std::string& v) {
             sync.ssh.known_hosts = resolve(v, working_directory);
             ssh_flags.push_back("--known-hosts");
         }},
        {"--agent-path",
         [&](const std::string& v) {
             sync.ssh.agent_path = v;
             ssh_flags.push_back("--agent-path");
         }},
        {"--host-key-policy",
         [&](const std::string& v) {
             sync.ssh.host_key_policy = parse_host_key_policy(v);
             ssh_flags.push_back("--host-key-policy");
         }},
        {"--connect-timeout",
         [&](const std::string& v) {
             sync.ssh.connect_timeout_seconds = parse_seconds("--connect-timeout", v);
             if (sync.ssh.connect_timeout_seconds < 0.1 || sync.ssh.connect_timeout_seconds > 3600)
                 throw UsageError("--connect-timeout takes 0.1 to 3600 seconds, got '" + v + "'");
             ssh_flags.push_back("--connect-timeout");
         }},
        {"--keepalive",
         [&](const std::string& v) {
             sync.ssh.keepalive_seconds = parse_seconds("--keepalive", v);
             if (sync.ssh.keepalive_seconds > 3600)
                 throw UsageError("--keepalive takes 0 to 3600 seconds, got '" + v + "'");
             ssh_flags.push_back("--keepalive");
         }},
        {"--delay",
         [&](const std::string& v) {
             sync.delay_seconds = parse_seconds("--delay", v);
         }},
        {"--max-delays",
         [&](const std::string& v) {
             sync.max_delays = parse_count("--max-delays", v, 1, 10'000'000);
         }},
        {"--exclude",
         [&](const std::string& v) {
             sync.excludes.push_back(v);
         }},
        {"--exclude-from",
         [&](const std::string& v) {
             sync.exclude_from = resolve(v, working_directory);
         }},
        {"--delete",
         [&](const std::string& v) {
             sync.delete_mode = parse_delete_mode(v);
         }},
        {"--fsync",
         [&](const std::string& v) {
             sync.fsync = parse_fsync(v);
         }},
        {"--workers",
         [&](const std::string& v) {
             sync.workers = static_cast<unsigned>(parse_count("--workers", v, 1, 64));
         }},
        {"--name",
         [&](const std::string& v) {
             sync.name = v;
         }},
        {"--sqlite-interval",
         [&](const std::string& v) {
             sync.sqlite.interval_seconds = parse_seconds("--sqlite-interval", v);
         }},
        {"--sqlite-temp-dir",
         [&](const std::string& v) {
             sync.sqlite.temp_dir = resolve(v, working_directory);
         }},
        {"--log-level",
         [&](const std::string& v) {
             auto level = base::parse_log_level(v);
             if (!level)
                 throw UsageError("--log-level takes debug, info, warning or error, got '" + v +
                                  "'");
             command.log_level = *level;
         }},
        {"--log-file",
         [&](const std::string& v) {
             command.log_file = resolve(v, working_directory);
         }},
        {"--state-dir",
         [&](const std::string& v) {
             command.state_dir = resolve(v, working_directory);
         }},
        {"--max-delete-percent",
         [&](const std::string& v) {
             sync.max_delete_percent =
                 static_cast<unsigned>(parse_count("--max-delete-percent", v, 1, 100));
         }},
        {"--max-delete-files",
         [&](const std::string& v) {
             sync.max_delete_files =
                 parse_count("--max-delete-files", v, 1, std::numeric_limits<unsigned long>::max());
         }},
        {"--require-mount",
         [&](const std::string& v) {
             sync.require_mount = parse_require_mount(v);
         }},
        {"--events",
         [&](const std::string& v) {
             sync.events = parse_events(v);
         }},
        {"--verify-interval",
         [&](const std::string& v) {
             sync.verify_interval_seconds = parse_seconds("--verify-interval", v);
         }},
        {"--status-file",
         [&](const std::string& v) {
             command.status_file = resolve(v, working_directory);
         }},
        {"--status-interval",
         [&](const std::string& v) {
             const double seconds = parse_seconds("--status-interval", v);
             if (seconds < 0.1)
                 throw UsageError("--status-interval takes at least 0.1 seconds, got '" + v + "'");
             command.status_interval_seconds = seconds;
         }},
    };
    const std::map<std::string, std::function<void()>> switches = {
        {"--inplace",
         [&] {
             sync.inplace = true;
         }},
        {"--no-perms",
         [&] {
             sync.preserve.mode = false;
         }},
        {"--no-times",
         [&] {
             sync.preserve.times = false;
         }},
        {"--owner",
         [&] {
             sync.preserve.owner = true;
         }},
        {"--no-owner",
         [&] {
             sync.preserve.owner = false;
         }},
        {"--verify-checksum",
         [&] {
             sync.verify_checksum = true;
         }},
        {"--compress",
         [&] {
             sync.ssh.compression = true;
             ssh_flags.push_back("--compress");
         }},
        {"--no-sqlite",
         [&] {
             sync.sqlite.enabled = false;
         }},
    };
    const std::vector<std::string> not_sync_flags = {"--config",          "--log-level",
                                                     "--log-file",        "--status-file",
                                                     "--status-interval", "--state-dir"};

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i];
        std::optional<std::string> inline_value;
        if (auto eq = flag.find('='); flag.starts_with("--") && eq != std::string::npos) {
            inline_value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        }
        if (flag == "-c")
            flag = "--config";
        if (flag == "-h" || flag == "--help") {
            command.help_requested = true;
            return command;
        }
        if (auto handler = with_value.find(flag); handler != with_value.end()) {
            std::string value;
            if (inline_value) {
                value = *inline_value;
            } else {
                if (i + 1 >= args.size())
                    throw UsageError(flag + " needs a value");
                value = args[++i];
            }
            if (value.empty())
                throw UsageError(flag + " needs a non-empty value");
            handler->second(value);
            if (std::find(not_sync_flags.begin(), not_sync_flags.end(), flag) ==
                not_sync_flags.end())
                sync_flags.push_back(flag);
            continue;
        }
        if (std::find(command_switches.begin(), command_switches.end(), flag) !=
            command_switches.end()) {
            if (inline_value)
                throw UsageError(flag + " takes no value");
            command.switches.insert(flag);
            continue;
        }
        if (auto handler = switches.find(flag); handler != switches.end()) {
            if (inline_value)
                throw UsageError(flag + " takes no value");
            handler->second();
            sync_flags.push_back(flag);
            continue;
        }
        if (flag.starts_with("-"))
            throw UsageError("unknown option '" + flag + "' (see fsmirror " + verb + " --help)");
        throw UsageError("unexpected argument '" + flag + "' (see fsmirror " + verb + " --help)");
    }

    if (command.config_file) {
        if (!sync_flags.empty())
            throw UsageError(sync_flags.front() +
                             " cannot be combined with --config: set it in the config file");
        return command;
    }
    if (!source)
        throw UsageError("--source is required (or --config FILE)");
    if (targets.empty())
        throw UsageError("--target is required (or --config FILE)");
    sync.source = resolve(*source, working_directory);
    if (sync.name.empty())
        sync.name = "sync1";
    // Several --target flags fan out: one sync per target, each with its own queue and
    // connection, named <name>-1, <name>-2, ...
    bool any_remote = false;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        config::SyncConfig one = sync;
        if (targets.size() > 1)
            one.name = sync.name + "-" + std::to_string(i + 1);
        if (config::looks_remote(targets[i])) {
            auto remote = config::parse_remote_target(targets[i]);
            if (!remote)
                throw UsageError("--target " + remote.error());
            one.target = config::to_string(*remote);
            one.remote = std::move(*remote);
            any_remote = true;
        } else {
            one.target = resolve(targets[i], working_directory).string();
        }
        for (const auto& other : command.config.syncs)
            if (other.target == one.target)
                throw UsageError("--target " + one.target + " is given twice");
        command.config.syncs.push_back(std::move(one));
    }
    if (!any_remote && !ssh_flags.empty())
        throw UsageError(ssh_flags.front() +
                         " applies to SSH targets only ([user@]host[:port]:/path)");
    return command;
}

void apply_status_overrides(const SyncSelection& selection, config::Config& config) {
    if (selection.status_file)
        config.status_file = selection.status_file;
    if (selection.status_interval_seconds)
        config.status_interval_seconds = *selection.status_interval_seconds;
    if (selection.state_dir)
        config.state_dir = *selection.state_dir;
}

config::Config load_selected_config(const SyncSelection& selection, base::Logger& logger) {
    config::Config config = selection.config_file
                                ? config::load_yaml_config_file(*selection.config_file)
                                : selection.config;
    apply_status_overrides(selection, config);
    logger.set_level(selection.log_level.value_or(config.log.level));
    auto file = selection.log_file ? selection.log_file : config.log.file;
    if (file) {
        std::string error;
        if (!logger.set_file(*file, &error))
            throw config::ConfigError(error);
    }
    return config;
}

std::string sync_options_help() {
    return R"(    -c, --config FILE
        Read the syncs from a YAML file (see fsmirror.yml(5), docs/configuration.md).
        Cannot be combined with the sync options below.
    --source DIR
        The directory to mirror. Relative paths are resolved against the current
        directory when fsmirror starts.
    --target DIR | [user@]host[:port]:/DIR
        The mirror. Created if missing and its parent exists. It may not be the source,
        lie inside it, contain it, or be a system directory such as / or /var.
        A target with a ':' before its first '/' is on another machine, reached over
        SSH: fsmirror runs `fsmirror agent` there (see --agent-path) and sends changed
        files as librsync deltas, or copies whole files over SFTP when the remote has no
        fsmirror. Repeat --target to mirror one source to several targets, each with its
        own queue and connection (syncs NAME-1, NAME-2, ...).
    --identity FILE
        SSH private key to authenticate with (unencrypted; load encrypted keys into
        ssh-agent). Default: the keys in ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa,
        id_rsa. Passwords are never used.
    --known-hosts FILE
        Host keys to check the SSH server against. Default ~/.ssh/known_hosts.
    --host-key-policy strict|accept-new
        strict (default): refuse a host whose key is not in the known_hosts file.
        accept-new: add an unknown host's key to it (as OpenSSH's accept-new). A host
        whose key CHANGED is always refused.
    --agent-path PATH
        The fsmirror binary on the remote (as rsync's --rsync-path). Default `fsmirror`
        on the remote user's PATH.
    --compress
        Compress the SSH connection (zlib), for slow links.
    --connect-timeout SECONDS
        Give up a connection attempt after this long. Default 10.
    --keepalive SECONDS
        Ask the server for a sign of life this often; a connection silent for four
        intervals is treated as hung and replaced. 0 disables. Default 15.
    --delay SECONDS
        Batching delay: changes are collected for this long after the first one, then
        mirrored together. Fractions and 0 are allowed. Default 1.
    --max-delays N
        Mirror at once when N paths are queued, even before the delay ends. Default 1000.
    --exclude PATTERN
        Do not mirror matching paths (repeatable). rsync-style: `*.tmp` matches a name
        anywhere, `/cache/` the top-level directory cache only (a leading / anchors at
        the source root, a trailing / matches directories only), `**/node_modules/`
        crosses directories. Excluded entries on the target are left alone.
    --exclude-from FILE
        Read patterns from FILE, one per line; `#` starts a comment line.
    --delete true|false|startup|running
        When deletions are carried to the target (lsyncd's meanings): true = always
        (default), false = never, startup = only during the initial sync, running = only
        for deletions seen while running.
    --inplace
        Update changed files in place, writing only the blocks that differ (rsync's
        --inplace). Faster for large files; a reader may see a file mid-update.
    --fsync file|batch|none
        Durability: fsync every file before it is renamed into place (file), one
        syncfs() of the target file system per batch (batch, default), or none.
    --workers N
        Parallel file transfers per sync, 1-64. Default 4.
    --max-delete-percent P, --max-delete-files N
        The mass-delete guard: when a batch (together with the deletions of the minute
        before it) would delete more than P% of the target's entries (once more than 10)
        or more than N entries, or anything at all while the source root is empty or
        unreadable, the deletions are held and everything else is still mirrored, until
        `fsmirror resume`. Defaults 50 and 1000. See docs/safety.md.
    --require-mount none|source|target|both
        Refuse to start unless these paths are mount points; a source that is unmounted
        while running must be mounted again before mirroring resumes. Default none.
    --verify-interval SECONDS
        Drift repair: while idle, compare the whole target with the source this often and
        repair what differs, logging each repair. 0 (the default) turns it off.
    --verify-checksum
        Drift repair also compares file contents (XXH3), not only sizes and times.
    --events inotify|fanotify|auto
        Where changes come from: inotify (a watch per directory) or fanotify (one mark on the
        source's file system; root, Linux 5.17+). auto (the default) picks fanotify for a tree
        of more than 50,000 directories when it can. Unavailable fanotify falls back to inotify.
    --state-dir DIR
        Where `run` keeps status.json (read by `fsmirror status` and `fsmirror health`)
        and its control files (DIR/<sync name>/paused, .../resume). Default
        $STATE_DIRECTORY (systemd's StateDirectory=), else /var/lib/fsmirror.
    --no-perms, --no-times
        Do not carry over permission bits / modification times. Without permissions, new
        files get the source's mode minus the umask and replaced files keep theirs.
    --owner, --no-owner
        Carry over owner and group. Default: only when running as root.
    --no-sqlite
        Copy SQLite databases and their -wal, -shm and -journal files as plain files, as
        rsync would (a live database's copy may then be corrupt). By default a database is
        recognised by its header and mirrored as a consistent snapshot taken through
        SQLite; its companion files are never copied (see docs/sqlite.md).
    --sqlite-interval SECONDS
        Snapshot a database that keeps changing about once per SECONDS (timed to land that
        long after the previous one). Default: the batching delay.
    --sqlite-temp-dir DIR
        Where snapshots are written before they are sent (a directory of this user's).
        Default $TMPDIR/fsmirror, else /var/tmp/fsmirror.
    --name NAME
        The sync's name in logs. Default sync1.
    --log-level debug|info|warning|error
        Default info.
    --log-file FILE
        Also append log lines to FILE (opened per line, so logrotate needs no signal).
    --status-file FILE
        Write a status report to FILE in lsyncd's statusFile layout (its `There are N
        delays` and `Inotify watching N directories` lines, for existing scripts), then
        fsmirror's own figures. Replaced atomically and rewritten every status interval
        even when idle, so its age says the daemon is alive.
    --status-interval SECONDS
        How often the status files and metrics are rewritten. Default 10 (lsyncd's).
    -h, --help
        This text.
    -V, --version
        Print the version.

)";
}

} // namespace fsmirror::app
