#pragma once
// A target directory on another machine, reached over one persistent SSH connection. The remote
// end is `fsmirror agent` started over an exec channel (the local transport behind a protocol,
// with librsync deltas for changed files); where the remote has no fsmirror, files are copied
// whole over SFTP instead. A lost or hung connection is replaced with bounded exponential
// backoff; while it is down every call fails at once with ErrorKind::transient, so the engine
// keeps its queue and retries later. Thread-safe: the engine's workers call it concurrently,
// and their requests share the connection (pipelined, answered out of order).

#include "base/logger.hpp"
#include "transport/local_transport.hpp"
#include "transport/transport.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace fsmirror::transport {

enum class HostKeyPolicy {
    strict,     // a host not in known_hosts is refused
    accept_new, // an unknown host's key is added to known_hosts; a changed key is still refused
};

// Where and how to connect.
struct SshOptions {
    std::string host;
    std::uint16_t port = 22;
    std::string user;                                   // never empty
    std::optional<std::filesystem::path> identity_file; // nullopt: ssh-agent, then ~/.ssh/id_*
    std::filesystem::path known_hosts;
    HostKeyPolicy host_key_policy = HostKeyPolicy::strict;
    bool compression = false;
    std::chrono::milliseconds connect_timeout{10'000};
    // How often the server is asked for a sign of life; a connection silent for four intervals
    // is considered hung. Zero disables keepalives (hangs are then found by request timeouts).
    std::chrono::seconds keepalive{15};
};

struct SshTransportOptions {
    SshOptions ssh;
    std::string root;                    // absolute directory on the remote machine
    std::string agent_path = "fsmirror"; // the fsmirror binary on the remote (PATH searched)
    AttributePolicy attributes;
    Durability durability = Durability::per_batch;
};

class RemoteBackend;

class SshTransport final : public Transport {
public:
    SshTransport(SshTransportOptions options, base::Logger& logger);
    ~SshTransport() override;

    // Connects now, for a startup check. Returns the error; permission_denied when the host key
    // or the credentials were refused (the operator must act), transient when the host could
    // not be reached (it will be retried).
    base::Status connect();

    std::string describe() const override;
    base::Status check_root() override;
    base::Result<std::optional<EntryInfo>> stat(std::string_view path) override;
    std::vector<base::Result<std::optional<EntryInfo>>>
    stat_many(const std::vector<std::string>& paths) override;
    base::Result<std::vector<DirEntry>> list_directory(std::string_view path) override;
    base::Status make_directory(std::string_view path, const EntryInfo& info) override;
    base::Result<PutResult> put_file(std::string_view path, const SourceFile& source,
                                     const std::optional<EntryInfo>& existing) override;
    base::Status put_symlink(std::string_view path, const EntryInfo& info) override;
    base::Status rename(std::string_view from, std::string_view to) override;
    base::Status remove(std::string_view path) override;
    base::Status set_attributes(std::string_view path, const EntryInfo& info) override;
    base::Status flush() override;
    base::Result<ContentDigest> hash_file(std::string_view path) override;
    base::Result<std::string> read_small_file(std::string_view path,
                                              std::size_t max_bytes) override;
    base::Result<FileSystemInfo> file_system() override;
    base::Result<DatabaseDigest> inspect_database(std::string_view path,
                                                  bool integrity_check) override;
    std::int64_t mtime_granularity_ns() const override;

private:
    using Clock = std::chrono::steady_clock;

    // Returns the live backend, connecting (or reconnecting, once its backoff has passed) when
    // there is none. Fails at once with transient while waiting for the next attempt.
    base::Result<std::shared_ptr<RemoteBackend>> acquire();
    base::Result<std::shared_ptr<RemoteBackend>> open_backend();
    // Runs `operation` on the live backend. When it fails because the connection died while
    // writing `written` (a file or symlink), its directory is noted: the agent that died may
    // have left a temporary file there, which the next connection's listing removes.
    template <class F>
    auto with_backend(F&& operation, std::string_view written = {})
        -> decltype(operation(std::declval<RemoteBackend&>()));

    SshTransportOptions m_options;
    base::Logger& m_logger;
    std::string m_description;
    std::mutex m_mutex; // guards everything below; held while connecting
    std::shared_ptr<RemoteBackend> m_backend;
    Clock::time_point m_next_attempt{};
    std::chrono::seconds m_backoff{0};
    bool m_agent_missing = false;        // fall back to SFTP from now on
    std::set<std::string> m_interrupted; // directories with a transfer cut by a lost connection
    bool m_ever_connected = false;
    std::atomic<std::int64_t> m_granularity_ns{1}; // read without the mutex
};

// Returns the command that starts the agent for `root` on the remote, quoted for its shell.
std::string agent_command(const std::string& agent_path, const std::string& root);

} // namespace fsmirror::transport
