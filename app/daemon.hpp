#pragma once
// Runs the configured syncs: one thread per sync, signals handled on the main thread.

#include "base/logger.hpp"
#include "config/config.hpp"

#include <functional>

namespace fsmirror::app {

// Re-reads the configuration for SIGHUP; throws on an invalid file.
using ConfigReloader = std::function<config::Config()>;

// `fsmirror run`: initial sync, then mirror until SIGTERM/SIGINT. Returns the exit status
// (0 after a signal-initiated shutdown, 1 when a sync could not start).
int run_daemon(const config::Config& config, const ConfigReloader& reload, base::Logger& logger);

// `fsmirror sync`: one pass over every sync. Returns 0 when everything was mirrored, else 1.
int run_once(const config::Config& config, base::Logger& logger);

} // namespace fsmirror::app
