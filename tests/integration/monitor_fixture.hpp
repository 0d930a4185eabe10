#pragma once
// What the monitor's integration tests need around the daemon: a real SMTP server on loopback
// (aiosmtpd) saving mails to a directory, small tmpfs mounts for full disks and vanished
// volumes, environment variables for the daemon, and a unix datagram socket standing in for
// systemd's notify socket. Each skips the test (exit 4) with a reason when its prerequisite
// is missing.

#include "tests/integration/tmpfs_mount.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/skip.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::integration {

using test_support::skip_test;

// A saved mail: the file's name and its whole text (envelope lines, headers, body).
struct Mail {
    std::string file;
    std::string text;

    bool is_alert() const;    // Subject: [ALERT] ...
    bool is_recovery() const; // Subject: [RESOLVED] ...
    bool mentions(const std::string& needle) const;
};

class SmtpSink {
public:
    // Starts tests/integration/smtp_sink.py with Debian's python3 in `directory` (created).
    // `auth` is "USER:PASSWORD" when AUTH is required. Skips when python3-aiosmtpd is missing;
    // REQUIREs that the server comes up.
    // `port` 0 picks a free one. With `tls` (certificate and key files) the server requires
    // STARTTLS before anything else.
    struct Tls {
        std::filesystem::path certificate;
        std::filesystem::path key;
    };
    explicit SmtpSink(const std::filesystem::path& directory,
                      const std::optional<std::string>& auth = std::nullopt, int port = 0,
                      const std::optional<Tls>& tls = std::nullopt);

    int port() const { return m_port; }
    std::string url() const { return "smtp://127.0.0.1:" + std::to_string(m_port); }

    // Returns every mail received so far, in arrival order.
    std::vector<Mail> mails() const;

    // Waits until at least `count` mails satisfy `match`; returns the last mails() seen.
    std::vector<Mail> wait_for(std::size_t count, bool (*match)(const Mail&),
                               std::chrono::milliseconds timeout) const;

private:
    std::filesystem::path m_mail_dir;
    std::unique_ptr<test_support::ChildProcess> m_server;
    int m_port = 0;
};

// Sets an environment variable (inherited by daemons started afterwards) until destroyed.
class ScopedEnv {
public:
    ScopedEnv(std::string name, const std::string& value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string m_name;
    std::optional<std::string> m_previous;
};

// A unix datagram socket bound at `path`, as systemd's NOTIFY_SOCKET.
class NotifySocket {
public:
    explicit NotifySocket(const std::filesystem::path& path);
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // Returns the messages received so far (each datagram's text), after reading what waits.
    const std::vector<std::string>& messages();

    // Waits until a message contains `needle`; returns whether one did.
    bool wait_for(const std::string& needle, std::chrono::milliseconds timeout);

private:
    int m_fd = -1;
    std::filesystem::path m_path;
    std::vector<std::string> m_messages;
};

// Makes a self-signed certificate for 127.0.0.1 in `directory` (cert.pem, key.pem) with the
// openssl command. Skips when openssl is missing.
SmtpSink::Tls make_loopback_certificate(const std::filesystem::path& directory);

// Returns a TCP port on 127.0.0.1 that was free a moment ago.
int free_local_port();

} // namespace fsmirror::integration
