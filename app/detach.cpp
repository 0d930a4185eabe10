#include "app/detach.hpp"

#include <cerrno>
#include <cstdio>
#include <system_error>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fsmirror::app {

namespace {

constexpr char k_ready = 'R';

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

} // namespace

DetachedDaemon DetachedDaemon::detach() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        throw_errno("pipe");
    std::fflush(nullptr); // nothing buffered is written twice
    const pid_t child = ::fork();
    if (child < 0)
        throw_errno("fork");
    if (child > 0) {
        // The original process: wait for the daemon's word, then leave.
        ::close(fds[1]);
        char byte = 0;
        ssize_t got = 0;
        do {
            got = ::read(fds[0], &byte, 1);
        } while (got < 0 && errno == EINTR);
        int status = 0;
        ::waitpid(child, &status, 0);
        ::_exit(got == 1 && byte == k_ready ? 0 : 255);
    }
    // The first child: a new session without a controlling terminal, then fork again so the
    // daemon is no session leader and can never acquire one.
    ::close(fds[0]);
    if (::setsid() < 0)
        ::_exit(255);
    const pid_t daemon = ::fork();
    if (daemon < 0)
        ::_exit(255);
    if (daemon > 0)
        ::_exit(0);
    if (::chdir("/") != 0)
        ::_exit(255);
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            ::close(null);
    }
    return DetachedDaemon(fds[1]);
}

void DetachedDaemon::ready() {
    if (m_ready_fd < 0)
        return;
    const char byte = k_ready;
    ssize_t written = 0;
    do {
        written = ::write(m_ready_fd, &byte, 1);
    } while (written < 0 && errno == EINTR);
    ::close(m_ready_fd);
    m_ready_fd = -1;
}

} // namespace fsmirror::app
