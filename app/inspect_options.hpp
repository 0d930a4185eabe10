#pragma once
// The flags of the commands that look at a running daemon (`status`, `health`): where its
// status is (--state-dir, or the state_dir of --config), and how to print it.

#include "app/sync_options.hpp"
#include "base/error.hpp"
#include "config/config.hpp"
#include "monitor/status_report.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::app {

struct InspectOptions {
    bool help_requested = false;
    bool json = false; // --json (status only)
    std::optional<std::filesystem::path> config_file;
    std::optional<std::filesystem::path> state_dir;
};

enum class JsonFlag { allowed, refused };

// Parses the flags after the command word. Throws UsageError naming the offending flag.
InspectOptions parse_inspect_options(const std::vector<std::string>& args,
                                     const std::filesystem::path& working_directory,
                                     const std::string& command, JsonFlag json);

// Returns the configuration the options point at: the file's (with --state-dir applied), or
// the defaults. Throws config::ConfigError.
config::Config inspect_config(const InspectOptions& options);

// Reads and parses <state_dir>/status.json. Returns not_found when there is none, protocol
// for a malformed one.
base::Result<monitor::StatusReport> read_status_report(const std::filesystem::path& path);

// Returns true when a process with `pid` exists (it may belong to another user).
bool process_alive(long pid);

} // namespace fsmirror::app
