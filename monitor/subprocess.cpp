#include "monitor/subprocess.hpp"

#include "base/unique_fd.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fsmirror::monitor {

namespace {

constexpr std::size_t k_max_output = 4096;

int decode(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

// Between fork and exec only async-signal-safe calls: other threads may hold locks.
[[noreturn]] void exec_child(char* const* argv, int stdin_fd, int output_fd) {
    ::dup2(stdin_fd, STDIN_FILENO);
    ::dup2(output_fd, STDOUT_FILENO);
    ::dup2(output_fd, STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // The daemon ignores SIGPIPE, and exec keeps ignored dispositions: give the command the
    // default back.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    ::sigaction(SIGPIPE, &default_action, nullptr);
    ::execvp(argv[0], argv);
    static constexpr char k_message[] = "cannot execute the command\n";
    [[maybe_unused]] ssize_t written = ::write(STDERR_FILENO, k_message, sizeof k_message - 1);
    ::_exit(127);
}

} // namespace

base::Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                        std::string_view input, std::chrono::milliseconds timeout) {
    if (argv.empty() || argv.front().empty())
        return base::fail(base::ErrorKind::fatal, "empty command");
    std::vector<std::string> args = argv;
    std::vector<char*> pointers;
    for (auto& arg : args)
        pointers.push_back(arg.data());
    pointers.push_back(nullptr);

    int in_pipe[2];
    int out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0)
        return base::fail_errno("pipe");
    base::UniqueFd in_read(in_pipe[0]);
    base::UniqueFd in_write(in_pipe[1]);
    if (::pipe2(out_pipe, O_CLOEXEC) != 0)
        return base::fail_errno("pipe");
    base::UniqueFd out_read(out_pipe[0]);
    base::UniqueFd out_write(out_pipe[1]);

    const pid_t pid = ::fork();
    if (pid < 0)
        return base::fail_errno("fork");
    if (pid == 0)
        exec_child(pointers.data(), in_read.get(), out_write.get());
    in_read.reset();
    out_write.reset();
    ::fcntl(in_write.get(), F_SETFL, O_NONBLOCK);
    ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);

    CommandResult result;
    std::size_t sent = 0;
    if (input.empty())
        in_write.reset();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool timed_out = false;
    while (out_read.valid()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {in_write.get(), POLLOUT, 0}};
        const nfds_t count = in_write.valid() ? 2 : 1;
        if (::poll(fds, count, static_cast<int>(left.count())) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (count == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t written =
                ::write(in_write.get(), input.data() + sent, input.size() - sent);
            if (written > 0)
                sent += static_cast<std::size_t>(written);
            // EPIPE (SIGPIPE is blocked in the daemon's threads, or ignored): the command
            // stopped reading; it may still succeed.
            if ((written < 0 && errno != EAGAIN && errno != EINTR) || sent == input.size())
                in_write.reset();
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buffer[4096];
            const ssize_t got = ::read(out_read.get(), buffer, sizeof buffer);
            if (got > 0) {
                const auto keep = std::min<std::size_t>(static_cast<std::size_t>(got),
                                                        k_max_output - result.output.size());
                result.output.append(buffer, keep);
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                out_read.reset();
            }
        }
    }
    in_write.reset();
    int status = 0;
    if (timed_out) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        return base::fail(base::ErrorKind::transient,
                          fmt::format("{} did not finish within {} s and was killed", argv.front(),
                                      timeout.count() / 1000));
    }
    // Output closed: the command has exited or closed its descriptors; wait for the rest.
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        if (done < 0 && errno != EINTR)
            return base::fail_errno("waitpid");
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            return base::fail(
                base::ErrorKind::transient,
                fmt::format("{} did not finish in time and was killed", argv.front()));
        }
        ::usleep(10'000);
    }
    result.exit_status = decode(status);
    return result;
}

} // namespace fsmirror::monitor
