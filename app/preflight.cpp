#include "app/preflight.hpp"

#include "app/session_factory.hpp"
#include "engine/fanotify_event_source.hpp"

#include <memory>

namespace fsmirror::app {

namespace {

// fanotify holds no watch per directory, and `auto` turns to it for the trees that need many:
// running short of inotify watches is no reason to refuse where fanotify can watch the source.
void excuse_watch_shortage(safety::PreflightReport& report, const config::SyncConfig& sync) {
    if (sync.events == config::EventsBackend::inotify)
        return;
    for (auto& finding : report.findings) {
        if (finding.check != "inotify-watches" || finding.severity != safety::Severity::error ||
            !engine::FanotifyEventSource::check_available(sync.source))
            continue;
        finding.severity = safety::Severity::warning;
        finding.message += "; fanotify, which needs none, can watch it instead";
    }
}

// True when the sync asks for fanotify and will get it: one mark, so no watches to count.
bool watched_by_fanotify(const config::SyncConfig& sync) {
    return sync.events == config::EventsBackend::fanotify &&
           engine::FanotifyEventSource::check_available(sync.source);
}

// The root entries the sync's excludes leave alone on the target, which therefore do not make
// it "non-empty". A bad pattern is reported when the session is built; here it counts nothing.
safety::IgnoredEntry excluded_root_entries(const config::SyncConfig& sync) {
    try {
        auto excludes = std::make_shared<engine::ExcludeFilter>(make_excludes(sync));
        if (excludes->empty())
            return {};
        return [excludes](std::string_view name, bool is_directory) {
            return excludes->is_excluded(name, is_directory ? engine::EntryKind::directory
                                                            : engine::EntryKind::file);
        };
    } catch (const StartupError&) {
        return {};
    }
}

// `check` on an SSH target: connects and runs the remote checks. An unreachable host is a
// warning, as it is no reason for `run` to refuse (its session retries).
void check_remote_now(const config::SyncConfig& sync, safety::NonEmptyTarget non_empty,
                      safety::PreflightReport& report) {
    base::Logger logger(base::LogLevel::warning); // says so when it falls back to SFTP
    std::unique_ptr<transport::Transport> target;
    try {
        target = open_remote_target(sync, logger);
    } catch (const StartupError& error) {
        report.findings.push_back(safety::Finding{"target", sync.target, safety::Severity::error,
                                                  error.what(),
                                                  "fix the SSH settings (see the message)"});
        return;
    }
    if (auto root = target->check_root(); !root) {
        report.findings.push_back(
            safety::Finding{"target", sync.target, safety::Severity::warning,
                            "could not be checked: " + root.error().message,
                            "make the host reachable; `run` and `sync` check it when they "
                            "connect"});
        return;
    }
    auto remote = check_remote_target(sync, *target, non_empty);
    for (auto& finding : remote.findings)
        report.findings.push_back(std::move(finding));
}

} // namespace

safety::RemoteTargetReport check_remote_target(const config::SyncConfig& sync,
                                               transport::Transport& target,
                                               safety::NonEmptyTarget non_empty) {
    safety::RemoteTargetRequest request;
    request.source = sync.source;
    request.target = sync.target;
    request.host = sync.remote->host;
    request.remote_path = sync.remote->path;
    request.require_mount = sync.require_mount == config::RequireMount::target ||
                            sync.require_mount == config::RequireMount::both;
    request.non_empty = non_empty;
    request.excluded = excluded_root_entries(sync);
    request.parallel_transfers = sync.workers;
    return safety::check_remote_target(request, target);
}

std::vector<SyncPreflight> run_preflight(const config::Config& config, safety::WatchCheck watches,
                                         safety::NonEmptyTarget non_empty, RemoteTargets remote) {
    std::vector<SyncPreflight> results;
    std::uint64_t watches_planned = 0;
    for (const auto& sync : config.syncs) {
        safety::PreflightRequest request;
        request.source = sync.source;
        request.target = sync.target;
        request.remote_target = sync.remote.has_value();
        request.require_source_mount = sync.require_mount == config::RequireMount::source ||
                                       sync.require_mount == config::RequireMount::both;
        request.require_target_mount = sync.require_mount == config::RequireMount::target ||
                                       sync.require_mount == config::RequireMount::both;
        request.watches = watches == safety::WatchCheck::yes && !watched_by_fanotify(sync)
                              ? safety::WatchCheck::yes
                              : safety::WatchCheck::no;
        request.non_empty = non_empty;
        request.parallel_transfers = sync.workers;
        request.watches_planned = watches_planned;
        if (sync.events == config::EventsBackend::automatic) {
            request.watches_unneeded_above = engine::k_large_tree_directories;
            request.fanotify_usable = [source = sync.source] {
                return static_cast<bool>(engine::FanotifyEventSource::check_available(source));
            };
        }
        request.excluded = excluded_root_entries(sync);
        auto report = safety::run_preflight(request);
        excuse_watch_shortage(report, sync);
        if (sync.remote && remote == RemoteTargets::connect)
            check_remote_now(sync, non_empty, report);
        watches_planned += report.watches_needed;
        results.push_back(SyncPreflight{sync.name, std::move(report)});
    }
    return results;
}

bool log_preflight(const std::vector<SyncPreflight>& results, base::Logger& logger) {
    bool passed = true;
    for (const auto& result : results) {
        for (const auto& finding : result.report.findings) {
            switch (finding.severity) {
            case safety::Severity::ok:
                logger.debug("{}: check {}", result.sync_name, safety::format_finding(finding));
                break;
            case safety::Severity::warning:
                logger.warning("{}: check {}", result.sync_name, safety::format_finding(finding));
                break;
            case safety::Severity::error:
                logger.error("{}: pre-flight check failed: {}", result.sync_name,
                             safety::format_finding(finding));
                passed = false;
                break;
            }
        }
    }
    return passed;
}

} // namespace fsmirror::app
