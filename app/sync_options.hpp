#pragma once
// The flags that describe which syncs to act on, shared by `run`, `sync` and the commands
// that inspect a sync: either --config FILE or --source/--target with per-sync options.

#include "config/config.hpp"

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace fsmirror::app {

// A command line that cannot be honoured; what() names the flag.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SyncSelection {
    bool help_requested = false; // -h/--help among the flags
    // Exactly one of these describes the syncs: a config file, or the flags.
    std::optional<std::filesystem::path> config_file;
    config::Config config; // from the flags
    std::optional<base::LogLevel> log_level;
    std::optional<std::filesystem::path> log_file;
    std::optional<std::filesystem::path> state_dir; // --state-dir, over the config's
    // Status overrides, allowed with --config too (as the log flags are).
    std::optional<std::filesystem::path> status_file;
    std::optional<double> status_interval_seconds;
    // The command's own switches (see `command_switches` below) that were given, e.g.
    // "--dry-run"; they may be combined with --config.
    std::set<std::string> switches;
    // True when a command switch was given, or for "--skip-safety" also when
    // FSMIRROR_SKIP_SAFETY is "true" or "1" in the environment.
    bool has(const std::string& command_switch) const;
};

// Parses the flags after the command word. Relative paths are resolved against
// `working_directory`. `command_switches` are the switches only this command takes
// ("--dry-run", "--skip-safety", "--allow-mass-delete", "--checksum", "--json"); they are
// recorded in SyncSelection::switches. Throws UsageError naming the offending flag; `command`
// names the command in messages ("see fsmirror run --help").
SyncSelection parse_sync_options(const std::vector<std::string>& args,
                                 const std::filesystem::path& working_directory,
                                 const std::string& command,
                                 const std::vector<std::string>& command_switches = {});

// Loads the configuration the selection describes (reading the file, if any) and applies the
// log overrides to `logger`. Throws config::ConfigError.
config::Config load_selected_config(const SyncSelection& selection, base::Logger& logger);

// Applies --status-file and --status-interval to `config` (also after a SIGHUP re-read of the
// file).
void apply_status_overrides(const SyncSelection& selection, config::Config& config);

// The OPTIONS section shared by every command that takes these flags.
std::string sync_options_help();

} // namespace fsmirror::app
