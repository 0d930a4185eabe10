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

} // namespace

std::vector<SyncPreflight> run_preflight(const config::Config& config, safety::WatchCheck watches,
                                         safety::NonEmptyTarget non_empty) {
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
        request.watches = watches;
        request.non_empty = non_empty;
        request.parallel_transfers = sync.workers;
        request.watches_planned = watches_planned;
        try {
            auto excludes = std::make_shared<engine::ExcludeFilter>(make_excludes(sync));
            if (!excludes->empty())
                request.excluded = [excludes](std::string_view name, bool is_directory) {
                    return excludes->is_excluded(name, is_directory ? engine::EntryKind::directory
                                                                    : engine::EntryKind::file);
                };
        } catch (const StartupError&) {
            // A bad pattern is reported when the session is built; the check counts everything.
        }
        auto report = safety::run_preflight(request);
        excuse_watch_shortage(report, sync);
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
