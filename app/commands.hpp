#pragma once
// Every fsmirror command is a function from its arguments (after the command word) to an exit
// status. dispatch() picks one from the table in dispatch.cpp.

#include <filesystem>
#include <string>
#include <vector>

namespace fsmirror::app {

// Exit statuses shared by every command (documented in `fsmirror --help`).
inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_failure = 1; // a runtime failure; the log says what
inline constexpr int k_exit_usage = 2;   // bad flags or configuration; the message says where

struct CommandContext {
    std::vector<std::string> args; // after the command word
    std::filesystem::path working_directory;
};

int command_run(const CommandContext& context);
int command_sync(const CommandContext& context);
int command_check(const CommandContext& context);
int command_verify(const CommandContext& context);
int command_resume(const CommandContext& context);
int command_status(const CommandContext& context);
int command_health(const CommandContext& context);
int command_alert(const CommandContext& context);
int command_agent(const CommandContext& context);
// Internal: run by the engine in a child process (engine/snapshot_taker.hpp).
int command_sqlite_snapshot(const CommandContext& context);
int command_convert(const CommandContext& context);

// fsmirror as lsyncd: `args` is the whole command line (lsyncd's options, a config file or
// -rsync/-rsyncssh/-direct syncs). Returns lsyncd's exit statuses: 0 after -version and
// -onepass, 128+N after signal N, 255 on errors.
int command_lsyncd(const CommandContext& context);

// True when `args` is an lsyncd invocation rather than one of fsmirror's commands: the first
// argument is an option other than -h/--help/-V/--version, or names a config file (*.lua,
// *.conf, or an existing file).
bool looks_like_lsyncd(const std::vector<std::string>& args,
                       const std::filesystem::path& working_directory);

// Runs the command that `args` (argv without argv[0]) names. Returns the exit status.
int dispatch(const std::vector<std::string>& args, const std::filesystem::path& working_directory);

} // namespace fsmirror::app
