#include "app/session_factory.hpp"

#include "app/preflight.hpp"
#include "app/preflight_gate.hpp"
#include "safety/path_checks.hpp"
#include "safety/target_ownership.hpp"
#include "transport/dry_run_transport.hpp"
#include "transport/local_transport.hpp"
#include "transport/ssh_transport.hpp"
#include "transport/target_marker.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <system_error>

#include <fmt/format.h>

#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::app {

namespace {

namespace fs = std::filesystem;

fs::path canonical_or_lexical(const fs::path& path) {
    std::error_code ec;
    auto resolved = fs::weakly_canonical(path, ec);
    return ec ? path.lexically_normal() : resolved;
}

bool is_same_or_inside(const fs::path& path, const fs::path& ancestor) {
    auto [end, rest] = std::mismatch(ancestor.begin(), ancestor.end(), path.begin(), path.end());
    return end == ancestor.end();
}

void require_directory(const std::string& sync_name, const char* role, const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw StartupError(fmt::format("{}: cannot access {} directory {}: {}", sync_name, role,
                                       path.string(), std::strerror(errno)));
    if (!S_ISDIR(st.st_mode))
        throw StartupError(
            fmt::format("{}: {} {} is not a directory", sync_name, role, path.string()));
}

void ensure_target_exists(const config::SyncConfig& sync, base::Logger& logger) {
    fs::path target(sync.target);
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0 || errno != ENOENT)
        return require_directory(sync.name, "target", target);
    auto parent = target.parent_path();
    if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw StartupError(fmt::format("{}: target {} does not exist and neither does its parent "
                                       "{}: create it (or mount the volume) first",
                                       sync.name, target.string(), parent.string()));
    if (::mkdir(target.c_str(), 0755) != 0 && errno != EEXIST)
        throw StartupError(fmt::format("{}: cannot create target {}: {}", sync.name,
                                       target.string(), std::strerror(errno)));
    logger.info("{}: created target directory {}", sync.name, target.string());
}

transport::Durability durability_for(config::FsyncPolicy policy) {
    switch (policy) {
    case config::FsyncPolicy::file:
        return transport::Durability::per_file;
    case config::FsyncPolicy::batch:
        return transport::Durability::per_batch;
    case config::FsyncPolicy::none:
        return transport::Durability::none;
    }
    return transport::Durability::per_batch;
}

engine::DeletePolicy delete_policy_for(config::DeleteMode mode) {
    switch (mode) {
    case config::DeleteMode::always:
        return {true, true};
    case config::DeleteMode::never:
        return {false, false};
    case config::DeleteMode::startup:
        return {true, false};
    case config::DeleteMode::running:
        return {false, true};
    }
    return {true, true};
}

void write_marker(const config::SyncConfig& sync, const std::string& source,
                  transport::Transport& target, base::Logger& logger);

// Writes the `.fsmirror` marker through the transport (so a remote target gets it the same
// way), unless the target already carries one naming this source, or an operator's marker
// directory.
void mark_target(const config::SyncConfig& sync, transport::Transport& target,
                 base::Logger& logger) {
    const std::string source = canonical_or_lexical(sync.source).string();
    auto listing = safety::read_target_listing(sync.target);
    if (!listing)
        throw StartupError(sync.name + ": " + listing.error().message);
    if (listing->marker == safety::MarkerKind::directory ||
        (listing->marker == safety::MarkerKind::file && listing->marker_info.source == source))
        return;
    write_marker(sync, source, target, logger);
}

// The same for an SSH target, after the checks that look at it, which the local pre-flight
// checks cannot run for a target on another machine: non-empty (the marker's contents read
// over the connection), require_mount and free space on the remote (app/preflight.hpp).
// Returns a transient error while the target is unreachable, and the first failed check (as
// an error naming the check, the path and the fix) for a refusal.
enum class Marking { write, leave };

base::Status check_and_mark_remote(const config::SyncConfig& sync, transport::Transport& target,
                                   safety::NonEmptyTarget non_empty, base::Logger& logger,
                                   Marking marking = Marking::write) {
    if (auto root = target.check_root(); !root)
        return std::unexpected(base::Error{base::ErrorKind::transient, root.error().message, 0});
    const safety::RemoteTargetReport report = check_remote_target(sync, target, non_empty);
    for (const auto& finding : report.findings) {
        if (finding.severity == safety::Severity::error)
            return std::unexpected(
                base::Error{base::ErrorKind::refused,
                            fmt::format("pre-flight check failed: {}; nothing is written there "
                                        "until that is fixed and fsmirror restarted",
                                        safety::format_finding(finding)),
                            0});
        if (finding.severity == safety::Severity::warning)
            logger.warning("{}: check {}", sync.name, safety::format_finding(finding));
        else
            logger.debug("{}: check {}", sync.name, safety::format_finding(finding));
    }
    const std::string source = canonical_or_lexical(sync.source).string();
    const auto& listing = report.listing;
    if (marking == Marking::leave || !listing || listing->marker == safety::MarkerKind::directory ||
        listing->marker == safety::MarkerKind::unread_file ||
        (listing->marker == safety::MarkerKind::file && listing->marker_info.source == source))
        return {};
    try {
        write_marker(sync, source, target, logger);
    } catch (const StartupError& error) {
        // Most likely the connection dropped between the checks and the write: check again.
        return std::unexpected(base::Error{base::ErrorKind::transient, error.what(), 0});
    }
    return {};
}

// Wraps an SSH target in a PreflightGate and runs its checks now when it is reachable (a
// refusal stops the start); when it is not, the gate runs them before the first write.
std::unique_ptr<transport::Transport> gate_remote_target(const config::SyncConfig& sync,
                                                         std::unique_ptr<transport::Transport> real,
                                                         safety::NonEmptyTarget non_empty,
                                                         base::Logger& logger) {
    auto root = real->check_root();
    if (!root && root.error().kind != base::ErrorKind::transient)
        throw StartupError(sync.name + ": " + root.error().message);
    auto gate = std::make_unique<PreflightGate>(
        std::move(real), [sync, non_empty, &logger](transport::Transport& target) {
            return check_and_mark_remote(sync, target, non_empty, logger);
        });
    auto checked = root ? gate->ensure_checked() : root;
    if (!checked && checked.error().kind != base::ErrorKind::transient)
        throw StartupError(sync.name + ": " + checked.error().message);
    if (!checked)
        logger.warning("{}: the target's pre-flight checks (non-empty, mount, free space) run "
                       "when it is reachable, before anything is written there",
                       sync.name);
    return gate;
}

// A dry run writes nothing there, not even the marker, but refuses what `run` would refuse.
void check_remote_for_dry_run(const config::SyncConfig& sync, transport::Transport& target,
                              safety::NonEmptyTarget non_empty, base::Logger& logger) {
    auto checked = check_and_mark_remote(sync, target, non_empty, logger, Marking::leave);
    if (!checked && checked.error().kind != base::ErrorKind::transient)
        throw StartupError(sync.name + ": " + checked.error().message);
    if (!checked)
        logger.warning("{}: the target's pre-flight checks did not run: {}", sync.name,
                       checked.error().message);
}

void write_marker(const config::SyncConfig& sync, const std::string& source,
                  transport::Transport& target, base::Logger& logger) {
    const std::string text = transport::format_marker({source, sync.name});
    base::UniqueFd memory(::memfd_create("fsmirror-marker", MFD_CLOEXEC));
    if (!memory.valid() ||
        ::write(memory.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        throw StartupError(fmt::format("{}: cannot prepare the {} marker: {}", sync.name,
                                       transport::k_marker_name, std::strerror(errno)));
    transport::EntryInfo info;
    info.type = transport::EntryType::file;
    info.size = text.size();
    info.mode = 0644;
    info.uid = ::geteuid();
    info.gid = ::getegid();
    info.mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    auto existing = target.stat(transport::k_marker_name);
    if (!existing)
        throw StartupError(sync.name + ": " + existing.error().message);
    auto put = target.put_file(transport::k_marker_name, transport::SourceFile{memory.get(), info},
                               *existing);
    if (!put)
        throw StartupError(fmt::format("{}: cannot write the {} marker: {}", sync.name,
                                       transport::k_marker_name, put.error().message));
    logger.info("{}: marked {} as the mirror of {} ({}/{})", sync.name, sync.target, source,
                sync.target, transport::k_marker_name);
}

std::function<void(const std::string&)> print_dry_run(const std::string& sync_name) {
    return [sync_name](const std::string& line) {
        std::printf("%s: dry-run: %s\n", sync_name.c_str(), line.c_str());
        std::fflush(stdout);
    };
}

std::chrono::nanoseconds to_duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(seconds));
}

std::optional<engine::DatabaseWatchOptions> database_options(const config::SyncConfig& sync) {
    if (!sync.sqlite.enabled)
        return std::nullopt;
    engine::DatabaseWatchOptions options;
    try {
        for (const auto& pattern : sync.sqlite.paths)
            options.paths.add_pattern(pattern);
    } catch (const std::exception& error) {
        throw StartupError(fmt::format("{}: sqlite.paths: {}", sync.name, error.what()));
    }
    options.delay = to_duration(sync.delay_seconds);
    options.interval = to_duration(sync.sqlite.interval_seconds.value_or(sync.delay_seconds));
    options.snapshot_root = sync.sqlite.temp_dir.value_or(engine::default_snapshot_root());
    return options;
}

engine::EventSourceKind event_source_kind(config::EventsBackend events) {
    switch (events) {
    case config::EventsBackend::inotify:
        return engine::EventSourceKind::inotify;
    case config::EventsBackend::fanotify:
        return engine::EventSourceKind::fanotify;
    case config::EventsBackend::automatic:
        break;
    }
    return engine::EventSourceKind::automatic;
}

} // namespace
engine::ExcludeFilter make_excludes(const config::SyncConfig& sync) {
    engine::ExcludeFilter excludes;
    try {
        for (const auto& pattern : sync.excludes)
            excludes.add_pattern(pattern);
        if (sync.exclude_from)
            excludes.add_patterns_from_file(*sync.exclude_from);
    } catch (const std::exception& error) {
        throw StartupError(fmt::format("{}: {}", sync.name, error.what()));
    }
    return excludes;
}

transport::AttributePolicy attribute_policy(const config::SyncConfig& sync) {
    // Owner and group "auto" means: when running as root here, or for an SSH target when
    // logging in as root there.
    bool owner = ::geteuid() == 0;
    if (sync.remote)
        owner = sync.remote->user.empty() ? ::geteuid() == 0 : sync.remote->user == "root";
    return transport::AttributePolicy{sync.preserve.mode, sync.preserve.times,
                                      sync.preserve.owner.value_or(owner)};
}

namespace {

std::string local_user_name() {
    if (const passwd* entry = ::getpwuid(::geteuid()); entry != nullptr)
        return entry->pw_name;
    if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0')
        return user;
    return "root";
}

fs::path default_known_hosts() {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
        const passwd* entry = ::getpwuid(::geteuid());
        home = entry != nullptr ? entry->pw_dir : "/";
    }
    return fs::path(home) / ".ssh" / "known_hosts";
}

std::chrono::milliseconds to_milliseconds(double seconds) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

// Builds the SSH transport and connects once, so that a refused host key or failed login stops
// the start with a clear message. An unreachable host does not: the session starts and keeps
// retrying, as it would after losing the connection.
std::unique_ptr<transport::Transport> make_ssh_transport(const config::SyncConfig& sync,
                                                         transport::AttributePolicy attributes,
                                                         base::Logger& logger) {
    const config::RemoteTarget& remote = *sync.remote;
    if (safety::is_system_directory(remote.path))
        throw StartupError(fmt::format("{}: refusing system directory {} on {} as a target: "
                                       "mirroring deletes what the source lacks; choose a "
                                       "dedicated directory",
                                       sync.name, remote.path, remote.host));
    if (sync.inplace)
        throw StartupError(fmt::format("{}: inplace applies to local targets only; an SSH "
                                       "target always receives a temporary file that is "
                                       "renamed into place",
                                       sync.name));
    transport::SshTransportOptions options;
    options.ssh.host = remote.host;
    options.ssh.port = remote.port;
    options.ssh.user = remote.user.empty() ? local_user_name() : remote.user;
    options.ssh.identity_file = sync.ssh.identity_file;
    options.ssh.known_hosts = sync.ssh.known_hosts.value_or(default_known_hosts());
    options.ssh.host_key_policy = sync.ssh.host_key_policy == config::HostKeyPolicy::accept_new
                                      ? transport::HostKeyPolicy::accept_new
                                      : transport::HostKeyPolicy::strict;
    options.ssh.compression = sync.ssh.compression;
    options.ssh.connect_timeout = to_milliseconds(sync.ssh.connect_timeout_seconds);
    options.ssh.keepalive =
        std::chrono::seconds(static_cast<std::int64_t>(sync.ssh.keepalive_seconds + 0.5));
    options.root = remote.path;
    options.agent_path = sync.ssh.agent_path;
    options.attributes = attributes;
    options.durability = durability_for(sync.fsync);
    auto target = std::make_unique<transport::SshTransport>(std::move(options), logger);
    if (auto connected = target->connect(); !connected) {
        if (connected.error().kind != base::ErrorKind::transient)
            throw StartupError(sync.name + ": " + connected.error().message);
        logger.warning("{}: starting anyway; changes stay queued until the target is reachable",
                       sync.name);
    }
    return target;
}

} // namespace

std::unique_ptr<transport::Transport> open_remote_target(const config::SyncConfig& sync,
                                                         base::Logger& logger) {
    return make_ssh_transport(sync, attribute_policy(sync), logger);
}

std::unique_ptr<engine::SyncSession> make_session(const config::SyncConfig& sync, Watching watching,
                                                  base::Logger& logger) {
    SessionSettings settings;
    settings.watching = watching;
    return make_session(sync, settings, logger);
}

std::unique_ptr<engine::SyncSession> make_session(const config::SyncConfig& sync,
                                                  const SessionSettings& settings,
                                                  base::Logger& logger) {
    require_directory(sync.name, "source", sync.source);
    const bool dry_run = settings.dry_run == DryRun::yes;
    transport::AttributePolicy attributes = attribute_policy(sync);
    std::unique_ptr<transport::Transport> target;
    if (sync.remote) {
        // Another machine: the overlap checks do not apply, the system-directory one does.
        target = make_ssh_transport(sync, attributes, logger);
        if (dry_run)
            check_remote_for_dry_run(sync, *target, settings.non_empty, logger);
        if (dry_run)
            target = std::make_unique<transport::DryRunTransport>(
                std::move(target), sync.target, attributes,
                settings.dry_run_report ? settings.dry_run_report : print_dry_run(sync.name));
        else
            target = gate_remote_target(sync, std::move(target), settings.non_empty, logger);
    } else {
        if (auto refused = safety::check_source_target_paths(canonical_or_lexical(sync.source),
                                                             canonical_or_lexical(sync.target)))
            throw StartupError(sync.name + ": " + *refused);
        struct stat target_stat {};
        const bool target_exists = ::stat(sync.target.c_str(), &target_stat) == 0;
        if (!dry_run)
            ensure_target_exists(sync, logger);

        transport::LocalTransportOptions transport_options;
        transport_options.root = sync.target;
        transport_options.attributes = attributes;
        transport_options.write_mode =
            sync.inplace ? transport::WriteMode::inplace : transport::WriteMode::replace;
        transport_options.durability = durability_for(sync.fsync);
        // A dry run must not even clean up a running daemon's temp files.
        transport_options.stale_temps =
            dry_run ? transport::StaleTemps::keep : transport::StaleTemps::remove;
        if (!dry_run || target_exists) {
            auto opened = transport::LocalTransport::open(transport_options);
            if (!opened)
                throw StartupError(sync.name + ": " + opened.error().message);
            target = std::move(*opened);
        }
        if (dry_run) {
            if (!target_exists)
                logger.info("{}: target {} does not exist; a real run would create it", sync.name,
                            sync.target);
            target = std::make_unique<transport::DryRunTransport>(
                std::move(target), "local:" + sync.target, attributes,
                settings.dry_run_report ? settings.dry_run_report : print_dry_run(sync.name));
        } else {
            mark_target(sync, *target, logger);
        }
    }

    engine::SyncSessionOptions options;
    options.name = sync.name;
    options.source = sync.source;
    options.source_directories = settings.source_directories;
    options.batching.delay = to_duration(sync.delay_seconds);
    options.batching.max_delays = sync.max_delays;
    options.mirror.deletes = delete_policy_for(sync.delete_mode);
    options.mirror.attributes = attributes;
    options.workers = sync.workers;
    options.guard.limits.max_percent = sync.max_delete_percent;
    options.guard.limits.max_files = sync.max_delete_files;
    options.startup_deletions = settings.startup_deletions;
    options.source_mount = sync.require_mount == config::RequireMount::source ||
                                   sync.require_mount == config::RequireMount::both
                               ? engine::SourceMount::required
                               : engine::SourceMount::any;
    options.verify_interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(sync.verify_interval_seconds));
    options.verify_contents =
        sync.verify_checksum ? engine::Contents::checksum : engine::Contents::metadata;
    options.observer = settings.observer;
    options.reporter = settings.reporter;
    options.databases = database_options(sync);
    if (options.databases) {
        // Never in the source (which we never write to, and whose watcher would see them)
        // nor in the target (whose comparison would delete them).
        const fs::path root = canonical_or_lexical(options.databases->snapshot_root);
        for (const auto& [role, tree] : {std::pair{"source", fs::path(sync.source)},
                                         std::pair{"target", fs::path(sync.target)}}) {
            if (is_same_or_inside(root, canonical_or_lexical(tree)))
                throw StartupError(fmt::format("{}: the SQLite snapshot directory {} is inside "
                                               "the {} {}; set sqlite.temp_dir outside it",
                                               sync.name, root.string(), role, tree.string()));
        }
    }
    engine::ExcludeFilter excludes = make_excludes(sync);
    if (options.databases) {
        // Once an lsyncd-era workaround; now it only hides commits from the watcher.
        for (const char* probe : {"example.db-wal", "example.db-journal"}) {
            if (excludes.is_excluded(probe, engine::EntryKind::file))
                logger.warning("{}: an exclude pattern matches SQLite's {} files; fsmirror never "
                               "copies them anyway, and excluding them hides a database's "
                               "commits until its next checkpoint (see docs/sqlite.md)",
                               sync.name, probe + std::string_view("example.db").size());
        }
    }
    try {
        return std::make_unique<engine::SyncSession>(
            std::move(options), std::move(excludes), std::move(target),
            settings.watching == Watching::yes ? std::optional(event_source_kind(sync.events))
                                               : std::nullopt,
            logger);
    } catch (const StartupError&) {
        throw;
    } catch (const std::exception& error) {
        throw StartupError(sync.name + ": " + error.what());
    }
}

} // namespace fsmirror::app
