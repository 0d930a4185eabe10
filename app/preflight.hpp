#pragma once
// Runs the safety pre-flight checks for every configured sync (`fsmirror check`, and before
// `run` and `sync` write anything) and reports them.

#include "base/logger.hpp"
#include "config/config.hpp"
#include "safety/preflight.hpp"
#include "safety/remote_target_checks.hpp"
#include "transport/transport.hpp"

#include <string>
#include <vector>

namespace fsmirror::app {

struct SyncPreflight {
    std::string sync_name;
    safety::PreflightReport report;
};

// Where the checks that look at an SSH target run.
enum class RemoteTargets {
    connect,          // `check`: on a connection of its own, made now
    at_session_start, // `run`, `sync`: on the session's connection (make_session)
};

// Runs the checks for each sync in order; the inotify watch budget adds up across syncs, as
// they share one user's limit.
std::vector<SyncPreflight> run_preflight(const config::Config& config, safety::WatchCheck watches,
                                         safety::NonEmptyTarget non_empty,
                                         RemoteTargets remote = RemoteTargets::at_session_start);

// Runs the checks that look at `sync`'s SSH target over `target` (connected).
safety::RemoteTargetReport check_remote_target(const config::SyncConfig& sync,
                                               transport::Transport& target,
                                               safety::NonEmptyTarget non_empty);

// Logs each finding: failures as errors, warnings as warnings, passes at debug level.
// Returns true when no check failed.
bool log_preflight(const std::vector<SyncPreflight>& results, base::Logger& logger);

} // namespace fsmirror::app
