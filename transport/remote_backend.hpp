#pragma once
// What SshTransport needs from the thing behind one SSH connection (the agent, or SFTP): the
// Transport operations, plus whether the connection still lives. Internal to transport/.

#include "transport/transport.hpp"

#include <string>

namespace fsmirror::transport {

class RemoteBackend : public Transport {
public:
    // False once the connection died; the owner then replaces the backend.
    virtual bool connected() const = 0;

    // Returns how files travel, for logs ("fsmirror agent 0.1.0, librsync deltas").
    virtual std::string mode() const = 0;
};

} // namespace fsmirror::transport
