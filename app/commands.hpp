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
int command_status(const CommandContext& context);
int command_health(const CommandContext& context);
int command_agent(const CommandContext& context);
// Internal: run by the engine in a child process (engine/snapshot_taker.hpp).
int command_sqlite_snapshot(const CommandContext& context);

// Runs the command that `args` (argv without argv[0]) names. Returns the exit status.
int dispatch(const std::vector<std::string>& args, const std::filesystem::path& working_directory);

} // namespace fsmirror::app
