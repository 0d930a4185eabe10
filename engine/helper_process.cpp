#include "engine/helper_process.hpp"

#include "base/unique_fd.hpp"

#include <cerrno>
#include <string_view>

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace fsmirror::engine {

namespace {

constexpr std::size_t k_max_message = 4096;

// Signals the daemon blocks or handles on its threads; the helper gets the defaults back.
constexpr int k_reset_signals[] = {SIGTERM, SIGINT, SIGHUP, SIGPIPE};

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    return text;
}

// The spawn attributes and file actions, released on every path.
struct SpawnSetup {
    posix_spawnattr_t attributes{};
    posix_spawn_file_actions_t actions{};
    SpawnSetup() {
        posix_spawnattr_init(&attributes);
        posix_spawn_file_actions_init(&actions);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

} // namespace

// posix_spawn rather than fork + exec: the daemon is multithreaded, and glibc's posix_spawn
// (clone with CLONE_VFORK) runs nothing but the listed actions between the two, so no lock
// held by another thread at fork time can hang the child. No shell is involved.
base::Result<HelperExit> run_helper(const std::filesystem::path& program,
                                    const std::vector<std::string>& args, int dir_fd,
                                    std::chrono::seconds time_limit, const std::string& what) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return std::unexpected(base::error_from_errno(errno, "create a pipe for " + what));
    base::UniqueFd read_end(pipe_fds[0]);
    base::UniqueFd write_end(pipe_fds[1]);

    SpawnSetup setup;
    sigset_t empty;
    sigemptyset(&empty);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int signal_number : k_reset_signals)
        sigaddset(&defaults, signal_number);
    posix_spawnattr_setsigmask(&setup.attributes, &empty);
    posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
    posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addfchdir_np(&setup.actions, dir_fd);
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDERR_FILENO);

    std::vector<std::string> words{program.string()};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& word : words)
        argv.push_back(word.data());
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, program.c_str(), &setup.actions, &setup.attributes,
                                      argv.data(), environ);
    if (spawned != 0)
        return std::unexpected(
            base::error_from_errno(spawned, "start " + what + " (" + program.string() + ")"));
    write_end.reset();

    // Collect what it says until it closes its output, or its time is up.
    std::string message;
    const auto deadline = std::chrono::steady_clock::now() + time_limit;
    bool timed_out = false;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd entry{read_end.get(), POLLIN, 0};
        const int ready =
            ::poll(&entry, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (ready < 0 && errno != EINTR)
            break;
        if (ready <= 0)
            continue;
        char buffer[1024];
        const ssize_t got = ::read(read_end.get(), buffer, sizeof buffer);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        if (message.size() < k_max_message)
            message.append(buffer, static_cast<std::size_t>(got));
    }
    if (timed_out)
        ::kill(pid, SIGKILL);
    int wait_status = 0;
    while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
        return base::fail(
            base::ErrorKind::transient,
            fmt::format("{} took longer than {} s and was stopped", what, time_limit.count()));
    HelperExit exit;
    exit.output = trimmed(std::move(message));
    if (WIFSIGNALED(wait_status))
        exit.signal = WTERMSIG(wait_status);
    else
        exit.status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 1;
    return exit;
}

} // namespace fsmirror::engine
