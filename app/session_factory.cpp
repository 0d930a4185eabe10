#include "app/session_factory.hpp"

#include "safety/path_checks.hpp"
#include "transport/local_transport.hpp"

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

} // namespace

std::unique_ptr<engine::SyncSession> make_session(const config::SyncConfig& sync,
                                                  Watching watching, base::Logger& logger,
                                                  monitor::SyncReporter* reporter) {
    require_directory(sync.name, "source", sync.source);
    if (auto refused = safety::check_source_target_paths(canonical_or_lexical(sync.source),
                                                         canonical_or_lexical(sync.target)))
        throw StartupError(sync.name + ": " + *refused);
    ensure_target_exists(sync, logger);

    transport::AttributePolicy attributes{sync.preserve.mode, sync.preserve.times,
                                          sync.preserve.owner.value_or(::geteuid() == 0)};
    transport::LocalTransportOptions transport_options;
    transport_options.root = sync.target;
    transport_options.attributes = attributes;
    transport_options.write_mode =
        sync.inplace ? transport::WriteMode::inplace : transport::WriteMode::replace;
    transport_options.durability = durability_for(sync.fsync);
    auto target = transport::LocalTransport::open(transport_options);
    if (!target)
        throw StartupError(sync.name + ": " + target.error().message);

    engine::SyncSessionOptions options;
    options.name = sync.name;
    options.source = sync.source;
    options.batching.delay = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::duration<double>(sync.delay_seconds));
    options.batching.max_delays = sync.max_delays;
    options.mirror.deletes = delete_policy_for(sync.delete_mode);
    options.mirror.attributes = attributes;
    options.workers = sync.workers;
    options.reporter = reporter;
    try {
        return std::make_unique<engine::SyncSession>(
            std::move(options), make_excludes(sync), std::move(*target),
            watching == Watching::yes ? std::optional(engine::EventSourceKind::inotify)
                                      : std::nullopt,
            logger);
    } catch (const StartupError&) {
        throw;
    } catch (const std::exception& error) {
        throw StartupError(sync.name + ": " + error.what());
    }
}

} // namespace fsmirror::app
