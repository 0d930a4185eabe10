#pragma once
// fsmirror's native command line: `fsmirror run|sync [options]`.

#include "config/config.hpp"

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace fsmirror::app {

// A command line that cannot be honoured; what() names the flag.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class CommandKind { run, sync, help, version };

struct Command {
    CommandKind kind = CommandKind::help;
    std::optional<std::string> help_topic;
    // Exactly one of these describes the syncs: a config file, or the flags.
    std::optional<std::filesystem::path> config_file;
    config::Config config; // from the flags (or the log overrides for a config file)
    std::optional<base::LogLevel> log_level;
    std::optional<std::filesystem::path> log_file;
};

// Parses argv (without argv[0]). Relative paths are resolved against `working_directory`.
// Throws UsageError naming the offending flag.
Command parse_command_line(const std::vector<std::string>& args,
                           const std::filesystem::path& working_directory);

// Returns the full help text (man-page style).
std::string help_text();

} // namespace fsmirror::app
