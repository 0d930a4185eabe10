#pragma once
// The remote end of the SSH transport (`fsmirror agent --root DIR`): reads agent-protocol
// requests from one descriptor and answers on another, executing them with a LocalTransport
// confined beneath the root, plus the librsync signature and patch steps of a delta transfer.
// Single-threaded; requests are answered in the order they arrive.

#include "base/logger.hpp"
#include "transport/transport.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace fsmirror::transport {

// What the agent asks of the program around it: the parts that live outside transport/ (the
// safety checks' mount point test, the SQLite digest helper), so the remote side answers with
// the same code the local side runs. A missing service answers its request with ENOTSUP.
struct AgentServices {
    // Returns whether `path` is a mount point.
    std::function<base::Result<bool>(const std::filesystem::path& path)> is_mount_point;
    // Returns the logical digest of the database `name` in directory `dir_fd` (a mirror's
    // copy), with PRAGMA integrity_check's answer when `integrity_check`.
    std::function<base::Result<DatabaseDigest>(int dir_fd, const std::string& name,
                                               bool integrity_check)>
        inspect_database;
};

// Serves the client on `input_fd`/`output_fd` for the tree at `root` (announcing
// `agent_version` in the hello reply) until the client closes its end. Returns the process exit
// status: 0 after a clean end of input, 1 when the root cannot be opened or the output breaks, 2
// after a protocol violation that ends the session (an oversized or garbled frame, anything before
// a valid hello). A malformed request inside a valid frame is answered with a protocol error and
// the session goes on.
int serve_agent(int input_fd, int output_fd, const std::filesystem::path& root,
                std::string_view agent_version, const AgentServices& services,
                base::Logger& logger);

} // namespace fsmirror::transport
