#pragma once
// One authenticated SSH connection: a TCP socket and the libssh2 session over it, with the host
// key checked against known_hosts and public-key authentication done. Internal to transport/;
// the agent and SFTP backends each own one. Not thread-safe: one thread uses it at a time.

#include "base/error.hpp"
#include "base/logger.hpp"
#include "transport/ssh_transport.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

struct _LIBSSH2_SESSION;

namespace fsmirror::transport {

class SshConnection {
public:
    // Connects to `options.host`, checks its host key and authenticates. Returns
    // permission_denied for a refused host key or failed authentication (with the SHA256
    // fingerprint, or the keys tried, in the message), transient for unreachable hosts and
    // timeouts. Leaves the session in blocking mode with a timeout of `io_timeout` per call.
    static base::Result<std::unique_ptr<SshConnection>>
    open(const SshOptions& options, std::chrono::milliseconds io_timeout, base::Logger& logger);

    ~SshConnection();
    SshConnection(const SshConnection&) = delete;
    SshConnection& operator=(const SshConnection&) = delete;

    _LIBSSH2_SESSION* session() const { return m_session; }
    int socket() const { return m_socket; }

    // Waits up to `timeout` for the socket to become ready in the direction libssh2 is blocked
    // on (or readable, when it is not blocked), or for `wake_fd` (when >= 0) to become
    // readable. Returns true when the socket was readable (data arrived).
    bool wait(std::chrono::milliseconds timeout, int wake_fd = -1) const;

    // Returns the session's last libssh2 error as an Error of `kind`, "<context>: <message>".
    base::Error error(base::ErrorKind kind, const std::string& context) const;

    // Marks the connection dead: shuts the socket down so that closing channels and the
    // session fails at once instead of waiting on a peer that will never answer (libssh2 would
    // otherwise give up on the timeout before freeing anything).
    void abandon();

    // Returns "user@host:port", for messages.
    const std::string& name() const { return m_name; }

private:
    SshConnection(int socket, _LIBSSH2_SESSION* session, std::string name);

    int m_socket;
    _LIBSSH2_SESSION* m_session;
    std::string m_name;
    bool m_abandoned = false;
};

// Returns `bytes` in base64 without padding, as OpenSSH prints fingerprints.
std::string base64_unpadded(std::string_view bytes);

// Returns the ErrorKind a libssh2 error code maps onto (transient for socket and timeout
// errors, permission_denied for authentication, protocol for the rest).
base::ErrorKind ssh_error_kind(int libssh2_code);

} // namespace fsmirror::transport
