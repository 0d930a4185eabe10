#pragma once
// Runs a command without a shell: fork + execvp, `input` written to its stdin, a time limit.

#include "base/error.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::monitor {

struct CommandResult {
    int exit_status = 0; // the exit code, or 128 + signal number
    std::string output;  // stdout and stderr, at most the first 4 KiB
};

// Runs `argv` (argv[0] is looked up in PATH when it has no '/'), feeding `input` on stdin.
// Kills it (SIGKILL) after `timeout`. Returns the exit status and output, or an error when it
// could not be started or timed out. The process must ignore SIGPIPE (the daemon does): a
// command that exits without reading all of `input` would otherwise kill it.
base::Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                        std::string_view input, std::chrono::milliseconds timeout);

} // namespace fsmirror::monitor
