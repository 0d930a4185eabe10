#pragma once
// lsyncd's -pidfile / settings{pidfile}: the daemon's PID in a file that is locked while it
// runs (so a second instance is refused instead of fighting the first) and removed at exit.

#include <filesystem>
#include <memory>

#include <sys/types.h>

namespace fsmirror::app {

class PidFile {
public:
    // Opens or creates `path` and takes an exclusive lock on it (flock, so the lock is kept by
    // a forked daemon). Throws std::runtime_error naming the file when it cannot be opened, or
    // when another process holds the lock (with that process's PID if the file has one).
    static std::unique_ptr<PidFile> acquire(const std::filesystem::path& path);

    // Removes the file when this process wrote its PID into it, then unlocks.
    ~PidFile();

    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;

    // Writes the calling process's PID (after detaching: the daemon's). Throws
    // std::runtime_error when it cannot.
    void write_pid();

    const std::filesystem::path& path() const { return m_path; }

private:
    PidFile(std::filesystem::path path, int fd) : m_path(std::move(path)), m_fd(fd) {}

    std::filesystem::path m_path;
    int m_fd = -1;
    pid_t m_written_by = -1;
};

} // namespace fsmirror::app
