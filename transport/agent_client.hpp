#pragma once
// The client end of the agent protocol over an SSH exec channel. One I/O thread owns the libssh2
// session: it writes queued request frames, reads reply frames and hands each to the call
// waiting for its id, so any number of threads can have requests in flight at once (pipelining;
// replies come back in any order). It sends keepalives, and declares the connection dead when
// the server has been silent for the configured time or the agent exits; every waiting call then
// fails with ErrorKind::transient. Internal to transport/.

#include "base/error.hpp"
#include "base/logger.hpp"
#include "base/unique_fd.hpp"
#include "transport/agent_protocol.hpp"
#include "transport/ssh_connection.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

struct _LIBSSH2_CHANNEL;

namespace fsmirror::transport {

// Error::native_code of a start failure because the remote has no usable fsmirror (the shell
// answered 126 or 127): the caller falls back to SFTP.
inline constexpr int k_code_agent_missing = 0x20001;

struct AgentClientOptions {
    std::string command;                             // run on the remote, quoted for its shell
    agent::Hello hello;                              // sent first
    std::chrono::milliseconds start_timeout{10'000}; // for the hello's answer
    std::chrono::seconds keepalive{15};              // as configured on the connection; 0 when off
    std::chrono::milliseconds dead_after{60'000};    // silence that marks a hung connection
    std::chrono::milliseconds call_timeout{15 * 60'000}; // longest wait for one reply
};

class AgentClient {
public:
    // Starts the agent over `connection` and exchanges hellos. On failure returns the reason,
    // with native_code k_code_agent_missing when the remote could not run the agent at all.
    static base::Result<std::unique_ptr<AgentClient>>
    start(std::unique_ptr<SshConnection> connection, AgentClientOptions options,
          base::Logger& logger);

    ~AgentClient();
    AgentClient(const AgentClient&) = delete;
    AgentClient& operator=(const AgentClient&) = delete;

    // True until the connection died.
    bool alive() const { return !m_dead.load(); }

    const agent::HelloReply& hello() const { return m_hello; }

    // One request id and the replies that arrive for it. Move-only; forgets the id on
    // destruction, so late replies are dropped.
    class Call {
    public:
        Call(Call&& other) noexcept;
        Call& operator=(Call&&) = delete;
        ~Call();

        // Queues `body` under this call's id. Blocks while too much output is queued; fails
        // (transient) when the connection died.
        base::Status send(agent::RequestBody body);

        // Waits for the next reply to this call. Fails (transient) when the connection died or
        // no reply came within the call timeout.
        base::Result<agent::ReplyBody> next();

        // Returns a reply that has already arrived, without waiting.
        std::optional<agent::ReplyBody> poll();

    private:
        friend class AgentClient;
        Call(AgentClient& client, std::uint32_t id) : m_client(&client), m_id(id) {}
        AgentClient* m_client;
        std::uint32_t m_id;
    };

    // Returns a new call (a fresh id).
    Call call();

    // Sends `body` as a new call and returns its single final reply, turning a Failure reply
    // into an error.
    base::Result<agent::ReplyBody> request(agent::RequestBody body);

    // Bytes sent and received on the channel so far.
    std::uint64_t bytes_sent() const { return m_bytes_sent.load(); }
    std::uint64_t bytes_received() const { return m_bytes_received.load(); }

private:
    struct Pending {
        std::deque<agent::ReplyBody> replies;
        std::condition_variable ready;
    };

    AgentClient(std::unique_ptr<SshConnection> connection, _LIBSSH2_CHANNEL* channel,
                AgentClientOptions options, base::Logger& logger);

    void io_loop();
    // Reads what the channel has; returns true when anything arrived.
    bool pump_input(std::string& buffer);
    bool pump_output();
    void dispatch(agent::Reply reply);
    void log_stderr(std::string_view bytes);
    void die(base::Error reason);
    // Closes the channel after the agent ended and returns its exit status (-1 if unknown).
    int collect_exit_status();
    void wake();
    base::Error dead_error() const;

    std::unique_ptr<SshConnection> m_connection;
    _LIBSSH2_CHANNEL* m_channel;
    AgentClientOptions m_options;
    base::Logger& m_logger;
    base::UniqueFd m_wake; // eventfd: new output queued, or stop
    agent::FrameReader m_reader;
    std::string m_stderr_line;
    std::string m_stderr_tail; // for error messages

    mutable std::mutex m_mutex; // guards everything below
    std::condition_variable m_space;
    std::deque<std::string> m_output;
    std::size_t m_output_offset = 0; // into m_output.front()
    std::size_t m_output_bytes = 0;
    std::unordered_map<std::uint32_t, std::shared_ptr<Pending>> m_pending;
    std::uint32_t m_next_id = 1;
    std::optional<base::Error> m_death;
    std::atomic<bool> m_dead{false};
    std::atomic<bool> m_stop{false};
    std::atomic<std::uint64_t> m_bytes_sent{0};
    std::atomic<std::uint64_t> m_bytes_received{0};
    agent::HelloReply m_hello;
    std::thread m_thread; // last: started after everything else exists
};

} // namespace fsmirror::transport
