#include "app/pid_file.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace fsmirror::app {

std::unique_ptr<PidFile> PidFile::acquire(const std::filesystem::path& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        throw std::runtime_error(
            fmt::format("Cannot open pidfile {}: {}", path.string(), std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        char buffer[32] = {};
        const ssize_t got = ::pread(fd, buffer, sizeof buffer - 1, 0);
        ::close(fd);
        std::string holder = got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : "";
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
            holder.pop_back();
        if (err == EWOULDBLOCK)
            throw std::runtime_error(
                fmt::format("Cannot lock pidfile {}: another instance is running{}", path.string(),
                            holder.empty() ? "" : " (pid " + holder + ")"));
        throw std::runtime_error(
            fmt::format("Cannot lock pidfile {}: {}", path.string(), std::strerror(err)));
    }
    return std::unique_ptr<PidFile>(new PidFile(path, fd));
}

PidFile::~PidFile() {
    if (m_written_by == ::getpid())
        ::unlink(m_path.c_str());
    if (m_fd >= 0)
        ::close(m_fd);
}

void PidFile::write_pid() {
    const std::string text = fmt::format("{}\n", ::getpid());
    if (::ftruncate(m_fd, 0) != 0 ||
        ::pwrite(m_fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
        throw std::runtime_error(
            fmt::format("Cannot write pidfile {}: {}", m_path.string(), std::strerror(errno)));
    m_written_by = ::getpid();
}

} // namespace fsmirror::app
