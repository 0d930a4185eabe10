#include "app/session_factory.hpp"

#include "safety/path_checks.hpp"
#include "safety/target_ownership.hpp"
#include "transport/dry_run_transport.hpp"
#include "transport/local_transport.hpp"
#include "transport/target_marker.hpp"

#include <fmt/format.h>

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <system_error>

namespace fsmirror::app {

namespace {

namespace fs = std::filesystem;

fs::path canonical_or_lexical(const fs::path& path) {
    std::error_code ec;
    auto resolved = fs::weakly_canonical(path, ec);
    return ec ? path.lexically_normal() : resolved;
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
    auto put = target.put_file(transport::k_marker_name,
                               transport::SourceFile{memory.get(), info}, *existing);
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
    return transport::AttributePolicy{sync.preserve.mode, sync.preserve.times,
                                      sync.preserve.owner.value_or(::geteuid() == 0)};
}

std::unique_ptr<engine::SyncSession> make_session(const config::SyncConfig& sync,
                                                  Watching watching, base::Logger& logger) {
    SessionSettings settings;
    settings.watching = watching;
    return make_session(sync, settings, logger);
}

std::unique_ptr<engine::SyncSession> make_session(const config::SyncConfig& sync,
                                                  const SessionSettings& settings,
                                                  base::Logger& logger) {
    require_directory(sync.name, "source", sync.source);
    if (auto refused = safety::check_source_target_paths(canonical_or_lexical(sync.source),
                                                         canonical_or_lexical(sync.target)))
        throw StartupError(sync.name + ": " + *refused);
    const bool dry_run = settings.dry_run == DryRun::yes;
    struct stat target_stat {};
    const bool target_exists = ::stat(sync.target.c_str(), &target_stat) == 0;
    if (!dry_run)
        ensure_target_exists(sync, logger);

    transport::AttributePolicy attributes = attribute_policy(sync);
    transport::LocalTransportOptions transport_options;
    transport_options.root = sync.target;
    transport_options.attributes = attributes;
    transport_options.write_mode =
        sync.inplace ? transport::WriteMode::inplace : transport::WriteMode::replace;
    transport_options.durability = durability_for(sync.fsync);
    // A dry run must not even clean up a running daemon's temp files.
    transport_options.stale_temps =
        dry_run ? transport::StaleTemps::keep : transport::StaleTemps::remove;
    std::unique_ptr<transport::Transport> target;
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

    engine::SyncSessionOptions options;
    options.name = sync.name;
    options.source = sync.source;
    options.batching.delay = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(sync.delay_seconds));
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
    try {
        return std::make_unique<engine::SyncSession>(
            std::move(options), make_excludes(sync), std::move(target),
            settings.watching == Watching::yes ? std::optional(engine::EventSourceKind::inotify)
                                               : std::nullopt,
            logger);
    } catch (const StartupError&) {
        throw;
    } catch (const std::exception& error) {
        throw StartupError(sync.name + ": " + error.what());
    }
}

} // namespace fsmirror::app
