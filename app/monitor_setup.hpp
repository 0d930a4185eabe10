#pragma once
// Builds the monitor from the configuration: its options, the alert channels (reading SMTP
// passwords) and the health thresholds. Shared by the daemon and `fsmirror health`.

#include "base/logger.hpp"
#include "config/config.hpp"
#include "monitor/monitor_service.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace fsmirror::app {

// Returns where the daemon keeps its machine-readable status: <state_dir>/status.json.
std::filesystem::path status_json_path(const config::Config& config);

// Returns the sync descriptions (names, sources, local target paths, excludes).
std::vector<monitor::SyncDescription> describe_syncs(const config::Config& config);

// Returns the health thresholds of `config.monitor`, with the staleness limit derived from
// the status interval.
monitor::HealthThresholds health_thresholds(const config::Config& config);

// Returns the monitor's options for `config` (no IO).
monitor::MonitorOptions monitor_options(const config::Config& config);

// Returns the first line of a password file. Throws StartupError (naming the file and the
// chmod that fixes it) when the file can be read by every user, or cannot be read.
std::string read_password_file(const std::filesystem::path& path);

// Returns the alert channels `config.alerts` describes. Throws StartupError when a secret
// cannot be obtained.
std::vector<std::unique_ptr<monitor::AlertChannel>>
make_alert_channels(const config::Config& config);

// Builds the whole monitor (not started). Throws StartupError.
std::unique_ptr<monitor::MonitorService> make_monitor(const config::Config& config,
                                                      monitor::StatusBoard& board,
                                                      monitor::SystemdNotifier& systemd,
                                                      base::Logger& logger);

} // namespace fsmirror::app
