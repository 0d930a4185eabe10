#include "transport/agent_client.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>
#include <libssh2.h>

#include <sys/eventfd.h>
#include <unistd.h>

namespace fsmirror::transport {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Output queued beyond this makes senders wait, so a fast reader never fills memory.
constexpr std::size_t k_max_output = 4 * 1024 * 1024;
constexpr std::size_t k_write_slice = 64 * 1024;
constexpr std::size_t k_read_buffer = 64 * 1024;
constexpr std::size_t k_stderr_tail = 1000;
// Reads per loop turn before writing again, so neither direction starves the other.
constexpr int k_reads_per_turn = 32;

base::Error transient(std::string message) {
    return base::Error{base::ErrorKind::transient, std::move(message), 0};
}

} // namespace

base::Result<std::unique_ptr<AgentClient>>
AgentClient::start(std::unique_ptr<SshConnection> connection, AgentClientOptions options,
                   base::Logger& logger) {
    LIBSSH2_SESSION* session = connection->session();
    LIBSSH2_CHANNEL* channel = libssh2_channel_open_session(session);
    if (channel == nullptr)
        return std::unexpected(connection->error(
            base::ErrorKind::transient, "cannot open an SSH channel to " + connection->name()));
    if (libssh2_channel_exec(channel, options.command.c_str()) != 0) {
        auto error =
            connection->error(base::ErrorKind::transient,
                              "cannot start '" + options.command + "' on " + connection->name());
        libssh2_channel_free(channel);
        return std::unexpected(error);
    }
    libssh2_session_set_blocking(session, 0);
    auto start_timeout = options.start_timeout;
    auto hello = options.hello;
    std::unique_ptr<AgentClient> client(
        new AgentClient(std::move(connection), channel, std::move(options), logger));

    auto call = client->call();
    if (auto sent = call.send(hello); !sent)
        return std::unexpected(sent.error());
    auto reply = [&]() -> base::Result<agent::ReplyBody> {
        std::unique_lock lock(client->m_mutex);
        auto pending = client->m_pending.at(call.m_id);
        if (!pending->ready.wait_for(lock, start_timeout, [&] {
                return !pending->replies.empty() || client->m_dead.load();
            }))
            return std::unexpected(
                transient(fmt::format("the agent ('{}') did not answer within {} ms",
                                      client->m_options.command, start_timeout.count())));
        if (!pending->replies.empty())
            return std::move(pending->replies.front());
        return std::unexpected(client->dead_error());
    }();
    if (!reply)
        return std::unexpected(reply.error());
    if (auto* failure = std::get_if<agent::Failure>(&*reply))
        return std::unexpected(base::Error{
            base::ErrorKind::protocol, "the agent refused the session: " + failure->error.message,
            failure->error.native_code});
    auto* answer = std::get_if<agent::HelloReply>(&*reply);
    if (answer == nullptr)
        return std::unexpected(base::Error{base::ErrorKind::protocol,
                                           "the agent answered the hello with something else", 0});
    if (answer->version < hello.min_version || answer->version > hello.max_version)
        return std::unexpected(base::Error{
            base::ErrorKind::protocol,
            fmt::format("the agent chose protocol version {}, outside the {} to {} offered",
                        answer->version, hello.min_version, hello.max_version),
            0});
    client->m_hello = *answer;
    return client;
}

AgentClient::AgentClient(std::unique_ptr<SshConnection> connection, _LIBSSH2_CHANNEL* channel,
                         AgentClientOptions options, base::Logger& logger)
    : m_connection(std::move(connection)), m_channel(channel), m_options(std::move(options)),
      m_logger(logger), m_wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      m_thread([this] { io_loop(); }) {}

AgentClient::~AgentClient() {
    m_stop = true;
    wake();
    if (m_thread.joinable())
        m_thread.join();
    LIBSSH2_SESSION* session = m_connection->session();
    libssh2_session_set_blocking(session, 1);
    libssh2_session_set_timeout(session, 2000);
    if (m_dead)
        m_connection->abandon(); // nothing more can be said on it
    else
        libssh2_channel_send_eof(m_channel); // the agent sees the end of its input and exits
    libssh2_channel_close(m_channel);
    if (libssh2_channel_free(m_channel) != 0) {
        m_connection->abandon();
        libssh2_channel_free(m_channel);
    }
}

void AgentClient::wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(m_wake.get(), &one, sizeof one);
}

AgentClient::Call AgentClient::call() {
    std::lock_guard lock(m_mutex);
    std::uint32_t id = m_next_id++;
    if (m_next_id == 0)
        m_next_id = 1;
    m_pending[id] = std::make_shared<Pending>();
    return Call(*this, id);
}

AgentClient::Call::Call(Call&& other) noexcept
    : m_client(std::exchange(other.m_client, nullptr)), m_id(other.m_id) {}

AgentClient::Call::~Call() {
    if (m_client == nullptr)
        return;
    std::lock_guard lock(m_client->m_mutex);
    m_client->m_pending.erase(m_id);
}

base::Status AgentClient::Call::send(agent::RequestBody body) {
    auto frame = agent::encode(agent::Request{m_id, std::move(body)});
    AgentClient& client = *m_client;
    {
        std::unique_lock lock(client.m_mutex);
        client.m_space.wait(
            lock, [&] { return client.m_output_bytes < k_max_output || client.m_dead.load(); });
        if (client.m_dead)
            return std::unexpected(client.dead_error());
        client.m_output_bytes += frame.size();
        client.m_output.push_back(std::move(frame));
    }
    client.wake();
    return {};
}

base::Result<agent::ReplyBody> AgentClient::Call::next() {
    AgentClient& client = *m_client;
    std::unique_lock lock(client.m_mutex);
    auto found = client.m_pending.find(m_id);
    if (found == client.m_pending.end())
        return std::unexpected(transient("request forgotten"));
    auto pending = found->second;
    bool ready = pending->ready.wait_for(lock, client.m_options.call_timeout, [&] {
        return !pending->replies.empty() || client.m_dead.load();
    });
    if (!pending->replies.empty()) {
        auto reply = std::move(pending->replies.front());
        pending->replies.pop_front();
        return reply;
    }
    if (!ready) {
        lock.unlock();
        // The agent is stuck (a hung disk on the remote?): the request's state is unknown, so
        // the whole connection is replaced.
        client.die(transient(fmt::format(
            "no answer from the agent on {} for {} s", client.m_connection->name(),
            std::chrono::duration_cast<std::chrono::seconds>(client.m_options.call_timeout)
                .count())));
        lock.lock();
    }
    return std::unexpected(client.dead_error());
}

std::optional<agent::ReplyBody> AgentClient::Call::poll() {
    std::lock_guard lock(m_client->m_mutex);
    auto found = m_client->m_pending.find(m_id);
    if (found == m_client->m_pending.end() || found->second->replies.empty())
        return std::nullopt;
    auto reply = std::move(found->second->replies.front());
    found->second->replies.pop_front();
    return reply;
}

base::Result<agent::ReplyBody> AgentClient::request(agent::RequestBody body) {
    auto pending = call();
    if (auto sent = pending.send(std::move(body)); !sent)
        return std::unexpected(sent.error());
    auto reply = pending.next();
    if (!reply)
        return reply;
    if (auto* failure = std::get_if<agent::Failure>(&*reply))
        return std::unexpected(failure->error);
    return reply;
}

base::Error AgentClient::dead_error() const {
    if (m_death)
        return *m_death;
    return transient("the connection to " + m_connection->name() + " is closed");
}

void AgentClient::die(base::Error reason) {
    std::lock_guard lock(m_mutex);
    if (m_dead)
        return;
    m_death = std::move(reason);
    m_dead = true;
    for (auto& [id, pending] : m_pending)
        pending->ready.notify_all();
    m_space.notify_all();
}

void AgentClient::dispatch(agent::Reply reply) {
    std::lock_guard lock(m_mutex);
    auto found = m_pending.find(reply.id);
    if (found == m_pending.end())
        return; // its caller gave up (a failed put's late answer, for one)
    found->second->replies.push_back(std::move(reply.body));
    found->second->ready.notify_all();
}

void AgentClient::log_stderr(std::string_view bytes) {
    m_stderr_tail.append(bytes);
    if (m_stderr_tail.size() > k_stderr_tail)
        m_stderr_tail.erase(0, m_stderr_tail.size() - k_stderr_tail);
    m_stderr_line.append(bytes);
    std::size_t newline = 0;
    while ((newline = m_stderr_line.find('\n')) != std::string::npos) {
        if (newline > 0)
            m_logger.warning("{}: agent: {}", m_connection->name(),
                             m_stderr_line.substr(0, newline));
        m_stderr_line.erase(0, newline + 1);
    }
}

bool AgentClient::pump_output() {
    bool progressed = false;
    for (;;) {
        const std::string* front = nullptr;
        std::size_t offset = 0;
        {
            std::lock_guard lock(m_mutex);
            if (m_output.empty())
                return progressed;
            // Elements of a deque keep their address while others are appended.
            front = &m_output.front();
            offset = m_output_offset;
        }
        std::size_t length = std::min(front->size() - offset, k_write_slice);
        auto written = libssh2_channel_write(m_channel, front->data() + offset, length);
        if (written == LIBSSH2_ERROR_EAGAIN)
            return progressed;
        if (written < 0) {
            die(m_connection->error(base::ErrorKind::transient,
                                    "sending to " + m_connection->name()));
            return progressed;
        }
        progressed = true;
        m_bytes_sent += static_cast<std::uint64_t>(written);
        std::lock_guard lock(m_mutex);
        m_output_offset += static_cast<std::size_t>(written);
        m_output_bytes -= static_cast<std::size_t>(written);
        if (m_output_offset == m_output.front().size()) {
            m_output.pop_front();
            m_output_offset = 0;
        }
        m_space.notify_all();
    }
}

bool AgentClient::pump_input(std::string& buffer) {
    bool progressed = false;
    for (int turn = 0; turn < k_reads_per_turn; ++turn) {
        auto got = libssh2_channel_read(m_channel, buffer.data(), buffer.size());
        if (got == LIBSSH2_ERROR_EAGAIN || got == 0)
            break;
        if (got < 0) {
            die(m_connection->error(base::ErrorKind::transient,
                                    "receiving from " + m_connection->name()));
            return progressed;
        }
        progressed = true;
        m_bytes_received += static_cast<std::uint64_t>(got);
        m_reader.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
        for (;;) {
            auto frame = m_reader.next();
            if (!frame) {
                die(base::Error{base::ErrorKind::protocol,
                                fmt::format("{} did not answer in the fsmirror agent protocol "
                                            "(does a shell startup file on the remote print "
                                            "text?): {}",
                                            m_connection->name(), frame.error().message),
                                0});
                return progressed;
            }
            if (!*frame)
                break;
            auto reply = agent::decode_reply(**frame);
            if (!reply) {
                die(base::Error{base::ErrorKind::protocol,
                                "the agent on " + m_connection->name() +
                                    " sent a malformed reply: " + reply.error().message,
                                0});
                return progressed;
            }
            dispatch(std::move(*reply));
        }
    }
    for (int turn = 0; turn < k_reads_per_turn; ++turn) {
        auto got = libssh2_channel_read_stderr(m_channel, buffer.data(), buffer.size());
        if (got <= 0)
            break;
        progressed = true;
        log_stderr(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
    }
    return progressed;
}

int AgentClient::collect_exit_status() {
    auto deadline = Clock::now() + 2s;
    std::string buffer(k_read_buffer, '\0');
    while (libssh2_channel_close(m_channel) == LIBSSH2_ERROR_EAGAIN && Clock::now() < deadline)
        m_connection->wait(100ms);
    while (Clock::now() < deadline) {
        auto got = libssh2_channel_read_stderr(m_channel, buffer.data(), buffer.size());
        if (got > 0) {
            log_stderr(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
            continue;
        }
        if (libssh2_channel_wait_closed(m_channel) != LIBSSH2_ERROR_EAGAIN)
            break;
        m_connection->wait(100ms);
    }
    if (!m_stderr_line.empty())
        log_stderr("\n");
    return libssh2_channel_get_exit_status(m_channel);
}

void AgentClient::io_loop() {
    std::string buffer(k_read_buffer, '\0');
    LIBSSH2_SESSION* session = m_connection->session();
    auto last_alive = Clock::now();
    const bool keepalive = m_options.keepalive.count() > 0;
    bool looked_again = false;
    while (!m_stop && !m_dead) {
        bool progressed = pump_output();
        if (m_dead)
            break;
        progressed = pump_input(buffer) || progressed;
        if (m_dead)
            break;
        if (libssh2_channel_eof(m_channel)) {
            int status = collect_exit_status();
            std::string detail = m_stderr_tail;
            while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' '))
                detail.pop_back();
            bool missing = status == 126 || status == 127;
            die(base::Error{base::ErrorKind::transient,
                            fmt::format("the agent on {} ('{}') exited with status {}{}{}",
                                        m_connection->name(), m_options.command, status,
                                        detail.empty() ? "" : ": ", detail),
                            missing ? k_code_agent_missing : status});
            break;
        }
        int seconds_to_keepalive = 0;
        if (keepalive) {
            int rc = libssh2_keepalive_send(session, &seconds_to_keepalive);
            if (rc < 0 && rc != LIBSSH2_ERROR_EAGAIN) {
                die(m_connection->error(base::ErrorKind::transient,
                                        "keepalive to " + m_connection->name()));
                break;
            }
        }
        auto now = Clock::now();
        if (progressed) {
            last_alive = now;
            continue;
        }
        bool busy = false;
        {
            std::lock_guard lock(m_mutex);
            busy = !m_pending.empty() || !m_output.empty();
        }
        if ((busy || keepalive) && now - last_alive > m_options.dead_after) {
            die(transient(fmt::format(
                "{} sent nothing for {} s although keepalives were asked "
                "for: the connection is hung",
                m_connection->name(),
                std::chrono::duration_cast<std::chrono::seconds>(m_options.dead_after).count())));
            break;
        }
        // A read of one stream (or a write) takes every packet waiting on the socket into
        // libssh2's queue, replies on the other stream included: poll() would not see them and
        // the replies would wait out the timeout (1 s stalls under load). Look once more.
        if (libssh2_poll_channel_read(m_channel, 1) > 0 && !looked_again) {
            looked_again = true;
            continue;
        }
        looked_again = false;
        auto timeout = 1000ms;
        if (seconds_to_keepalive > 0)
            timeout = std::min(timeout, std::chrono::milliseconds(seconds_to_keepalive * 1000));
        if (m_connection->wait(timeout, m_wake.get()))
            last_alive = Clock::now();
        std::uint64_t drained = 0;
        [[maybe_unused]] auto got = ::read(m_wake.get(), &drained, sizeof drained);
    }
}

} // namespace fsmirror::transport
