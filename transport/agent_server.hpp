#pragma once
// The remote end of the SSH transport (`fsmirror agent --root DIR`): reads agent-protocol
// requests from one descriptor and answers on another, executing them with a LocalTransport
// confined beneath the root, plus the librsync signature and patch steps of a delta transfer.
// Single-threaded; requests are answered in the order they arrive.

#include "base/logger.hpp"

#include <filesystem>
#include <string_view>

namespace fsmirror::transport {

// Serves the client on `input_fd`/`output_fd` for the tree at `root` (announcing
// `agent_version` in the hello reply) until the client closes
// its end. Returns the process exit status: 0 after a clean end of input, 1 when the root
// cannot be opened or the output breaks, 2 after a protocol violation that ends the session
// (an oversized or garbled frame, anything before a valid hello). A malformed request inside a
// valid frame is answered with a protocol error and the session goes on.
int serve_agent(int input_fd, int output_fd, const std::filesystem::path& root,
                std::string_view agent_version, base::Logger& logger);

} // namespace fsmirror::transport
