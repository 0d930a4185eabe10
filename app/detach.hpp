#pragma once
// Detaching from the terminal the way lsyncd does when started without -nodaemon: fork,
// setsid, fork again, standard streams to /dev/null, working directory /. Every path in the
// configuration has been made absolute before this, against the directory fsmirror was started
// in, so nothing relative is ever resolved against / (lsyncd's -rsync SRC . pitfall).

namespace fsmirror::app {

class DetachedDaemon {
public:
    // Returns in the daemon process only. The process that called it waits until the daemon
    // calls ready() and then exits 0 (so a forking service manager sees the PID file written),
    // or exits 255 when the daemon ends before that. Throws std::system_error when fork or
    // pipe fails (still in the original process).
    static DetachedDaemon detach();

    // Tells the original process that start-up is done.
    void ready();

private:
    explicit DetachedDaemon(int ready_fd) : m_ready_fd(ready_fd) {}
    int m_ready_fd = -1;
};

} // namespace fsmirror::app
