#pragma once
// A private OpenSSH server for tests: its own host key, client key, authorized_keys and config
// in a directory the test owns, listening on 127.0.0.1 at a free port. Nothing of the machine's
// sshd or root's keys is touched. The server and every session process it started are killed
// when the object goes away.

#include "tests/support/child_process.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace fsmirror::test_support {

// The loopback addresses the server listens on.
enum class Listen {
    ipv4,          // 127.0.0.1
    ipv4_and_ipv6, // 127.0.0.1 and ::1 (see ipv6_loopback_missing())
};

// Returns why ::1 cannot be used on this machine (no IPv6, or no ::1 on lo), or nullopt.
std::optional<std::string> ipv6_loopback_missing();

class SshdServer {
public:
    // Generates the keys and config in `directory` (which must exist) and starts sshd. When
    // sshd or ssh-keygen is missing or sshd cannot start, prints why and exits the test process
    // with status 4 (the integration suite's SKIP_RETURN_CODE).
    explicit SshdServer(const std::filesystem::path& directory, Listen listen = Listen::ipv4);
    ~SshdServer();
    SshdServer(const SshdServer&) = delete;
    SshdServer& operator=(const SshdServer&) = delete;

    std::uint16_t port() const { return m_port; }

    // The private key sshd accepts for the current user (root in CI).
    const std::filesystem::path& client_key() const { return m_client_key; }

    // A known_hosts file holding the server's host key under "[127.0.0.1]:port" (and
    // "[::1]:port" when listening there too).
    const std::filesystem::path& known_hosts() const { return m_known_hosts; }

    // The server's host public key line ("ssh-ed25519 AAAA...").
    const std::string& host_public_key() const { return m_host_public_key; }

    // Returns "127.0.0.1:<port>:<remote_directory>", the --target for a directory.
    std::string target(const std::filesystem::path& remote_directory) const;

    // Returns the SHA256 fingerprint of the host key as ssh-keygen prints it ("SHA256:...").
    std::string host_fingerprint() const;

    // Generates another key pair named `name` in the directory (not authorized) and returns
    // the private key's path.
    std::filesystem::path make_key(std::string_view name) const;

    // Kills the listener and every session process it started (as a crash of the server
    // machine would), then waits for them to be gone.
    void kill_all();

    // Gives the server a second host key of `type` (an ssh-keygen -t value, e.g. "ecdsa"),
    // restarts it, and returns that key's public line ("ecdsa-sha2-nistp256 AAAA...").
    std::string add_host_key(std::string_view type);

    // Stops (SIGSTOP) every session process, leaving the listener running: the connections
    // stay open but nothing answers on them, as with a hung server or network.
    void freeze_sessions();

    // Starts sshd again on the same port; returns once it accepts connections.
    void restart();

    // Returns sshd's log so far.
    std::string log_text() const;

private:
    void start();

    std::filesystem::path m_directory;
    std::filesystem::path m_config;
    std::filesystem::path m_client_key;
    std::filesystem::path m_known_hosts;
    std::string m_host_public_key;
    std::uint16_t m_port = 0;
    unsigned m_starts = 0;
    std::unique_ptr<ChildProcess> m_sshd;
};

} // namespace fsmirror::test_support
