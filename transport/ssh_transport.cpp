#include "transport/ssh_transport.hpp"

#include "base/rel_path.hpp"
#include "transport/agent_client.hpp"
#include "transport/agent_transport.hpp"
#include "transport/sftp_transport.hpp"
#include "transport/ssh_connection.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace fsmirror::transport {

namespace {

using namespace std::chrono_literals;

constexpr std::chrono::seconds k_max_backoff{60};

// A hung connection is declared after four silent keepalive intervals (OpenSSH's
// ServerAliveInterval x ServerAliveCountMax); without keepalives, after a minute of silence
// while a request waits.
std::chrono::milliseconds dead_after(const SshOptions& options) {
    if (options.keepalive.count() > 0)
        return std::chrono::duration_cast<std::chrono::milliseconds>(options.keepalive * 4);
    return 60s;
}

agent::Durability to_agent(Durability durability) {
    switch (durability) {
    case Durability::per_file:
        return agent::Durability::per_file;
    case Durability::per_batch:
        return agent::Durability::per_batch;
    case Durability::none:
        return agent::Durability::none;
    }
    return agent::Durability::per_batch;
}

std::string shell_quote(const std::string& text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

} // namespace

std::string agent_command(const std::string& agent_path, const std::string& root) {
    return shell_quote(agent_path) + " agent --root " + shell_quote(root);
}

SshTransport::SshTransport(SshTransportOptions options, base::Logger& logger)
    : m_options(std::move(options)), m_logger(logger),
      m_description(fmt::format("ssh:{}@{}:{}:{}", m_options.ssh.user, m_options.ssh.host,
                                m_options.ssh.port, m_options.root)) {}

SshTransport::~SshTransport() = default;

std::string SshTransport::describe() const {
    return m_description;
}

base::Result<std::shared_ptr<RemoteBackend>> SshTransport::open_backend() {
    auto io_timeout = dead_after(m_options.ssh);
    if (!m_agent_missing) {
        auto connection = SshConnection::open(m_options.ssh, io_timeout, m_logger);
        if (!connection)
            return std::unexpected(connection.error());
        AgentClientOptions options;
        options.command = agent_command(m_options.agent_path, m_options.root);
        options.hello.attributes = m_options.attributes;
        options.hello.durability = to_agent(m_options.durability);
        options.start_timeout =
            std::max<std::chrono::milliseconds>(m_options.ssh.connect_timeout, 10s);
        options.keepalive = m_options.ssh.keepalive;
        options.dead_after = io_timeout;
        auto client = AgentClient::start(std::move(*connection), std::move(options), m_logger);
        if (client)
            return std::make_shared<AgentTransport>(std::move(*client), m_description);
        if (client.error().native_code != k_code_agent_missing)
            return std::unexpected(client.error());
        m_agent_missing = true;
        m_logger.warning("{}: no fsmirror on the remote ({}); falling back to SFTP: whole-file "
                         "transfers, times in whole seconds. Install fsmirror there (or give "
                         "its path with --agent-path / agent_path) for delta transfers",
                         m_description, client.error().message);
    }
    auto connection = SshConnection::open(m_options.ssh, io_timeout, m_logger);
    if (!connection)
        return std::unexpected(connection.error());
    auto sftp = SftpTransport::start(std::move(*connection), m_options.root, m_options.attributes,
                                     m_options.durability, m_description);
    if (!sftp)
        return std::unexpected(sftp.error());
    return std::shared_ptr<RemoteBackend>(std::move(*sftp));
}

base::Result<std::shared_ptr<RemoteBackend>> SshTransport::acquire() {
    std::lock_guard lock(m_mutex);
    if (m_backend && m_backend->connected())
        return m_backend;
    auto now = Clock::now();
    if (m_backend) {
        m_logger.warning("{}: connection lost; reconnecting", m_description);
        m_backend.reset();
        m_next_attempt = now;
    }
    if (now < m_next_attempt) {
        auto wait = std::chrono::ceil<std::chrono::seconds>(m_next_attempt - now);
        return base::fail(
            base::ErrorKind::transient,
            fmt::format("{}: not connected; next attempt in {} s", m_description, wait.count()));
    }
    auto opened = open_backend();
    if (!opened) {
        m_backoff = m_backoff.count() == 0 ? 1s : std::min(m_backoff * 2, k_max_backoff);
        m_next_attempt = Clock::now() + m_backoff;
        m_logger.warning("{}: cannot connect: {}; next attempt in {} s", m_description,
                         opened.error().message, m_backoff.count());
        auto error = opened.error();
        error.message = m_description + ": " + error.message;
        return std::unexpected(error);
    }
    m_backend = std::move(*opened);
    m_granularity_ns = m_backend->mtime_granularity_ns();
    // Listing a directory removes the temporary files nobody is writing any more.
    for (const auto& directory : m_interrupted)
        if (auto swept = m_backend->list_directory(directory); !swept)
            m_logger.debug("{}: cannot clean up /{}: {}", m_description, directory,
                           swept.error().message);
    m_interrupted.clear();
    m_logger.info("{}: {} ({})", m_description, m_ever_connected ? "reconnected" : "connected",
                  m_backend->mode());
    m_ever_connected = true;
    m_backoff = 0s;
    return m_backend;
}

template <class F>
auto SshTransport::with_backend(F&& operation, std::string_view written)
    -> decltype(operation(std::declval<RemoteBackend&>())) {
    auto backend = acquire();
    if (!backend)
        return std::unexpected(backend.error());
    auto result = operation(**backend);
    if (!result && !written.empty() && !(*backend)->connected()) {
        std::lock_guard lock(m_mutex);
        m_interrupted.insert(base::parent_rel(written));
    }
    return result;
}

base::Status SshTransport::connect() {
    auto backend = acquire();
    if (!backend)
        return std::unexpected(backend.error());
    return {};
}

base::Status SshTransport::check_root() {
    return with_backend([](RemoteBackend& b) { return b.check_root(); });
}

base::Result<std::optional<EntryInfo>> SshTransport::stat(std::string_view path) {
    return with_backend([&](RemoteBackend& b) { return b.stat(path); });
}

std::vector<base::Result<std::optional<EntryInfo>>>
SshTransport::stat_many(const std::vector<std::string>& paths) {
    auto backend = acquire();
    if (!backend)
        return std::vector<base::Result<std::optional<EntryInfo>>>(
            paths.size(), std::unexpected(backend.error()));
    return (*backend)->stat_many(paths);
}

base::Result<std::vector<DirEntry>> SshTransport::list_directory(std::string_view path) {
    return with_backend([&](RemoteBackend& b) { return b.list_directory(path); });
}

base::Status SshTransport::make_directory(std::string_view path, const EntryInfo& info) {
    return with_backend([&](RemoteBackend& b) { return b.make_directory(path, info); });
}

base::Result<PutResult> SshTransport::put_file(std::string_view path, const SourceFile& source,
                                               const std::optional<EntryInfo>& existing) {
    return with_backend([&](RemoteBackend& b) { return b.put_file(path, source, existing); }, path);
}

base::Status SshTransport::put_symlink(std::string_view path, const EntryInfo& info) {
    return with_backend([&](RemoteBackend& b) { return b.put_symlink(path, info); }, path);
}

base::Status SshTransport::rename(std::string_view from, std::string_view to) {
    return with_backend([&](RemoteBackend& b) { return b.rename(from, to); });
}

base::Status SshTransport::remove(std::string_view path) {
    return with_backend([&](RemoteBackend& b) { return b.remove(path); });
}

base::Status SshTransport::set_attributes(std::string_view path, const EntryInfo& info) {
    return with_backend([&](RemoteBackend& b) { return b.set_attributes(path, info); });
}

base::Status SshTransport::flush() {
    return with_backend([](RemoteBackend& b) { return b.flush(); });
}

base::Result<ContentDigest> SshTransport::hash_file(std::string_view path) {
    return with_backend([&](RemoteBackend& b) { return b.hash_file(path); });
}

base::Result<std::string> SshTransport::read_small_file(std::string_view path,
                                                        std::size_t max_bytes) {
    return with_backend([&](RemoteBackend& b) { return b.read_small_file(path, max_bytes); });
}

base::Result<FileSystemInfo> SshTransport::file_system() {
    return with_backend([](RemoteBackend& b) { return b.file_system(); });
}

base::Result<DatabaseDigest> SshTransport::inspect_database(std::string_view path,
                                                            bool integrity_check) {
    return with_backend(
        [&](RemoteBackend& b) { return b.inspect_database(path, integrity_check); });
}

std::int64_t SshTransport::mtime_granularity_ns() const {
    return m_granularity_ns.load();
}

} // namespace fsmirror::transport
