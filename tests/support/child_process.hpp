#pragma once
// A child program started without a shell, its output captured in a log file, killed and reaped
// when the object goes away so a failing test never leaves a daemon behind.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace fsmirror::test_support {

struct ChildOptions {
    std::vector<std::string> argv;  // argv[0] is the program's path; PATH is not searched
    std::filesystem::path log_file; // receives stdout and stderr (created or truncated)
    std::optional<std::filesystem::path> working_directory;          // nullopt: the test's own
    std::optional<std::filesystem::path> stdin_file = std::nullopt;  // nullopt: /dev/null
    std::optional<std::filesystem::path> stdout_file = std::nullopt; // nullopt: the log file
};

class ChildProcess {
public:
    // Starts the program (fork + execv, stdin from /dev/null or `stdin_file`). Throws
    // std::system_error when a file cannot be opened or fork fails, std::invalid_argument for
    // an empty argv.
    // A failing chdir or execv shows up as exit status 127 with the reason in the log.
    // The child gets SIGKILL if the test process dies first (PR_SET_PDEATHSIG).
    explicit ChildProcess(ChildOptions options);

    // Sends SIGKILL and reaps the child if it is still running.
    ~ChildProcess();

    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return m_pid; }

    // Returns true while the child has not been reaped (it may be a zombie not yet waited for).
    bool running();

    // Returns true when the signal was sent; false once the child has been reaped.
    bool send_signal(int signal_number);

    // Waits up to `timeout` for the child to end. Returns its exit code, or 128 + the signal
    // number when a signal killed it (the shell's convention); nullopt if it is still running.
    // Once reaped, every later call returns the same status at once.
    std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);

    // Returns the log file's whole contents so far ("" when it cannot be read).
    std::string log_text() const;

    // Returns the last `max_bytes` of the log, for failure messages.
    std::string log_tail(std::size_t max_bytes = 8192) const;

    // Returns how many times `needle` occurs in the log so far.
    std::size_t count_in_log(std::string_view needle) const;

    // Polls the log until it contains `needle`. Returns false on timeout, and at once when the
    // child has exited without writing it.
    bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout);

    const std::filesystem::path& log_file() const { return m_log_file; }

private:
    // Reaps the child without blocking; returns true when it has been reaped now or before.
    bool try_reap();

    pid_t m_pid = -1;
    std::optional<int> m_exit_status;
    std::filesystem::path m_log_file;
};

} // namespace fsmirror::test_support
