// Runs `fsmirror sqlite-snapshot` in a child process for each snapshot.

#include "base/unique_fd.hpp"
#include "engine/snapshot_taker.hpp"

#include <cerrno>
#include <string_view>
#include <vector>

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

class HelperSnapshotTaker final : public SnapshotTaker {
public:
    explicit HelperSnapshotTaker(HelperOptions options) : m_options(std::move(options)) {}

    base::Status take(int dir_fd, const std::string& name,
                      const std::filesystem::path& output) override;

private:
    HelperOptions m_options;
};

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

base::ErrorKind error_kind_for_snapshot_status(int status) {
    switch (status) {
    case k_snapshot_busy:
        return base::ErrorKind::transient;
    case k_snapshot_not_database:
        return base::ErrorKind::not_found;
    case k_snapshot_no_space:
        return base::ErrorKind::no_space;
    case k_snapshot_permission:
        return base::ErrorKind::permission_denied;
    default:
        return base::ErrorKind::fatal;
    }
}

// posix_spawn rather than fork + exec: the daemon is multithreaded, and glibc's posix_spawn
// (clone with CLONE_VFORK) runs nothing but the listed actions between the two, so no lock
// held by another thread at fork time can hang the child. No shell is involved.
base::Status HelperSnapshotTaker::take(int dir_fd, const std::string& name,
                                       const std::filesystem::path& output) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return base::fail_errno("create a pipe for the snapshot helper");
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
    // The database's directory becomes the helper's working directory, so the helper opens
    // the database by its bare name: the path was resolved beneath the source root without
    // following symlinks, and the helper refuses a symlinked name (SQLITE_OPEN_NOFOLLOW).
    posix_spawn_file_actions_addfchdir_np(&setup.actions, dir_fd);
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), STDERR_FILENO);

    const std::string busy = std::to_string(m_options.busy_timeout.count());
    std::vector<std::string> args{m_options.program.string(),
                                  "sqlite-snapshot",
                                  "--database",
                                  name,
                                  "--output",
                                  output.string(),
                                  "--busy-timeout-ms",
                                  busy};
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);

    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, m_options.program.c_str(), &setup.actions,
                                      &setup.attributes, argv.data(), environ);
    if (spawned != 0)
        return std::unexpected(base::error_from_errno(spawned, "start the snapshot helper " +
                                                                   m_options.program.string()));
    write_end.reset();

    // Collect what it says until it closes its output, or its time is up.
    std::string message;
    const auto deadline = std::chrono::steady_clock::now() + m_options.time_limit;
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
        return base::fail(base::ErrorKind::transient,
                          fmt::format("snapshot helper for {} took longer than {} s and was "
                                      "stopped",
                                      name, m_options.time_limit.count()));
    if (WIFSIGNALED(wait_status))
        return base::fail(base::ErrorKind::fatal,
                          fmt::format("snapshot helper for {} died of signal {}: {}", name,
                                      WTERMSIG(wait_status), trimmed(message)));
    const int status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : k_snapshot_failed;
    if (status == k_snapshot_ok)
        return {};
    message = trimmed(message);
    if (message.empty())
        message = fmt::format("snapshot helper exited with status {}", status);
    return base::fail(error_kind_for_snapshot_status(status), message, status);
}

std::unique_ptr<SnapshotTaker> make_helper_snapshot_taker(HelperOptions options) {
    return std::make_unique<HelperSnapshotTaker>(std::move(options));
}

} // namespace fsmirror::engine
