#include "tests/support/child_process.hpp"

#include "tests/support/timeout_scale.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fsmirror::test_support {

namespace {

constexpr auto k_poll_interval = std::chrono::milliseconds(10);

// Only async-signal-safe calls between fork and exec: the parent may hold locks (malloc's,
// stdio's) that no thread in the child will ever release. Hence no strerror: errno as a number.
void write_failure(const char* what, const char* subject) {
    const int err = errno;
    char number[16];
    char* end = number + sizeof(number);
    char* digits = end;
    unsigned value = static_cast<unsigned>(err);
    do {
        *--digits = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value != 0 && digits != number);
    auto put = [](const char* text, std::size_t length) {
        [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, text, length);
    };
    put(what, std::strlen(what));
    put(subject, std::strlen(subject));
    put(": errno ", 8);
    put(digits, static_cast<std::size_t>(end - digits));
    put("\n", 1);
}

[[noreturn]] void run_child(const std::vector<char*>& argv, int log_fd, int in_fd, int out_fd,
                            const char* directory, pid_t parent) {
    // Die with the test process, so an aborted test leaves no daemon running.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
        ::_exit(127);

    // The test runner may block or ignore signals (Catch2 installs handlers); exec resets
    // handlers but not the mask or ignored dispositions.
    sigset_t all;
    ::sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal_number : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD})
        ::sigaction(signal_number, &default_action, nullptr);

    const int null_fd = in_fd >= 0 ? in_fd : ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        ::dup2(null_fd, STDIN_FILENO);
    ::dup2(out_fd >= 0 ? out_fd : log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);

    if (directory != nullptr && ::chdir(directory) != 0) {
        write_failure("child_process: cannot chdir to ", directory);
        ::_exit(127);
    }
    ::execv(argv[0], argv.data());
    write_failure("child_process: cannot execute ", argv[0]);
    ::_exit(127);
}

int decode_status(int status) {
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

} // namespace

ChildProcess::ChildProcess(ChildOptions options) : m_log_file(std::move(options.log_file)) {
    if (options.argv.empty())
        throw std::invalid_argument("ChildProcess: empty argv");

    // Everything the child needs is prepared before fork.
    std::vector<char*> argv;
    argv.reserve(options.argv.size() + 1);
    for (std::string& argument : options.argv)
        argv.push_back(argument.data());
    argv.push_back(nullptr);
    const std::string directory =
        options.working_directory ? options.working_directory->string() : std::string();

    const int log_fd =
        ::open(m_log_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        throw std::system_error(errno, std::generic_category(),
                                "open log file " + m_log_file.string());

    int in_fd = -1;
    int out_fd = -1;
    const auto close_all = [&] {
        for (int fd : {log_fd, in_fd, out_fd})
            if (fd >= 0)
                ::close(fd);
    };
    if (options.stdin_file) {
        in_fd = ::open(options.stdin_file->c_str(), O_RDONLY | O_CLOEXEC);
        if (in_fd < 0) {
            const int err = errno;
            close_all();
            throw std::system_error(err, std::generic_category(),
                                    "open " + options.stdin_file->string());
        }
    }
    if (options.stdout_file) {
        out_fd =
            ::open(options.stdout_file->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (out_fd < 0) {
            const int err = errno;
            close_all();
            throw std::system_error(err, std::generic_category(),
                                    "open " + options.stdout_file->string());
        }
    }

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        const int err = errno;
        close_all();
        throw std::system_error(err, std::generic_category(), "fork");
    }
    if (pid == 0)
        run_child(argv, log_fd, in_fd, out_fd, directory.empty() ? nullptr : directory.c_str(),
                  parent);
    close_all();
    m_pid = pid;
}

ChildProcess::~ChildProcess() {
    if (!try_reap()) {
        ::kill(m_pid, SIGKILL);
        int status = 0;
        while (::waitpid(m_pid, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

bool ChildProcess::try_reap() {
    if (m_exit_status)
        return true;
    int status = 0;
    const pid_t result = ::waitpid(m_pid, &status, WNOHANG);
    if (result == m_pid) {
        m_exit_status = decode_status(status);
        return true;
    }
    if (result < 0 && errno == ECHILD) {
        m_exit_status = -1; // reaped elsewhere; nothing left to wait for
        return true;
    }
    return false;
}

bool ChildProcess::running() {
    return !try_reap();
}

bool ChildProcess::send_signal(int signal_number) {
    if (try_reap())
        return false;
    return ::kill(m_pid, signal_number) == 0;
}

std::optional<int> ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + scaled_timeout(timeout);
    while (!try_reap()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return std::nullopt;
        std::this_thread::sleep_for(k_poll_interval);
    }
    return m_exit_status;
}

std::string ChildProcess::log_text() const {
    std::ifstream in(m_log_file, std::ios::binary);
    if (!in)
        return {};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string ChildProcess::log_tail(std::size_t max_bytes) const {
    std::string text = log_text();
    if (text.size() <= max_bytes)
        return text;
    return "[...]" + text.substr(text.size() - max_bytes);
}

std::size_t ChildProcess::count_in_log(std::string_view needle) const {
    if (needle.empty())
        return 0;
    const std::string text = log_text();
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + needle.size()))
        ++count;
    return count;
}

bool ChildProcess::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + scaled_timeout(timeout);
    for (;;) {
        if (log_text().find(needle) != std::string::npos)
            return true;
        // One more read after exit: the line may have been written just before exiting.
        if (!running())
            return log_text().find(needle) != std::string::npos;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(k_poll_interval);
    }
}

} // namespace fsmirror::test_support
