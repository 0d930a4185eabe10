#pragma once
// Runs one of fsmirror's own helper commands (`fsmirror sqlite-snapshot`, `fsmirror
// sqlite-digest`) in a child process: the processes that hold SQLite connections, so that the
// daemon and `verify` never do (docs/sqlite.md).

#include "base/error.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace fsmirror::engine {

struct HelperExit {
    int status = 0;     // the exit status; meaningful unless `signal` is set
    int signal = 0;     // the signal that killed it, 0 when it exited
    std::string output; // what it wrote on stdout and stderr (at most 4 KiB), trimmed
};

// Runs `program` with `args` (args[0] is the command word) in the directory `dir_fd` (an
// O_PATH descriptor is enough), stdin from /dev/null, with the signal mask and the signals the
// daemon handles reset. Kills it after `time_limit`. Returns an error when it cannot be started
// (fatal) or ran out of time (transient, naming `what`).
base::Result<HelperExit> run_helper(const std::filesystem::path& program,
                                    const std::vector<std::string>& args, int dir_fd,
                                    std::chrono::seconds time_limit, const std::string& what);

} // namespace fsmirror::engine
