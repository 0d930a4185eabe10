#pragma once
// Runs the safety pre-flight checks for every configured sync (`fsmirror check`, and before
// `run` and `sync` write anything) and reports them.

#include "base/logger.hpp"
#include "config/config.hpp"
#include "safety/preflight.hpp"

#include <string>
#include <vector>

namespace fsmirror::app {

struct SyncPreflight {
    std::string sync_name;
    safety::PreflightReport report;
};

// Runs the checks for each sync in order; the inotify watch budget adds up across syncs, as
// they share one user's limit.
std::vector<SyncPreflight> run_preflight(const config::Config& config, safety::WatchCheck watches,
                                         safety::NonEmptyTarget non_empty);

// Logs each finding: failures as errors, warnings as warnings, passes at debug level.
// Returns true when no check failed.
bool log_preflight(const std::vector<SyncPreflight>& results, base::Logger& logger);

} // namespace fsmirror::app
