#include "tests/support/file_ops.hpp"

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::test_support {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void throw_errno(const char* action, const fs::path& path) {
    throw std::system_error(errno, std::generic_category(),
                            std::string(action) + " " + path.string());
}

class Fd {
public:
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd() {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }

private:
    int m_fd;
};

void write_all(int fd, std::string_view content, const fs::path& path) {
    while (!content.empty()) {
        const ssize_t written = ::write(fd, content.data(), content.size());
        if (written < 0) {
            if (errno == EINTR)
                continue;
            throw_errno("write", path);
        }
        content.remove_prefix(static_cast<std::size_t>(written));
    }
}

void write_with_flags(const fs::path& path, std::string_view content, int flags) {
    Fd fd(::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0644));
    if (fd.get() < 0)
        throw_errno("open", path);
    write_all(fd.get(), content, path);
    if (::close(fd.get()) != 0) // close errors matter for the "write then close" event
        throw_errno("close", path);
}

struct stat lstat_or_throw(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0)
        throw_errno("lstat", path);
    return st;
}

} // namespace

void write_file(const fs::path& path, std::string_view content) {
    write_with_flags(path, content, O_CREAT | O_TRUNC);
}

void overwrite_file(const fs::path& path, std::string_view content) {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0)
        throw_errno("open", path);
    write_all(fd.get(), content, path);
    if (::ftruncate(fd.get(), static_cast<off_t>(content.size())) != 0)
        throw_errno("ftruncate", path);
}

void append_file(const fs::path& path, std::string_view content) {
    write_with_flags(path, content, O_CREAT | O_APPEND);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw_errno("open", path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string read_file_or_empty(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

bool file_has_content(const fs::path& path, std::string_view content) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::symlink_status(path, ec)) || ec)
        return false;
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return false;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str() == content;
}

std::string make_content(std::size_t size, unsigned seed) {
    std::string content(size, '\0');
    std::uint64_t state = 0x9e3779b97f4a7c15ULL ^ (static_cast<std::uint64_t>(seed) << 17U);
    for (char& byte : content) {
        // xorshift64: cheap, deterministic, and no two seeds share a prefix in practice.
        state ^= state << 13U;
        state ^= state >> 7U;
        state ^= state << 17U;
        byte = static_cast<char>(state & 0xffU);
    }
    return content;
}

void set_mtime(const fs::path& path, struct timespec mtime) {
    const struct timespec times[2] = {mtime, mtime};
    if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        throw_errno("utimensat", path);
}

struct timespec get_mtime(const fs::path& path) {
    return lstat_or_throw(path).st_mtim;
}

struct timespec make_time(std::time_t seconds, long nanoseconds) {
    struct timespec t {};
    t.tv_sec = seconds;
    t.tv_nsec = nanoseconds;
    return t;
}

ino_t inode_of(const fs::path& path) {
    return lstat_or_throw(path).st_ino;
}

HeldFile::HeldFile(const fs::path& path)
    : m_fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) {
    if (m_fd < 0)
        throw_errno("open", path);
    struct stat st {};
    if (::fstat(m_fd, &st) != 0) {
        const int err = errno;
        ::close(m_fd);
        throw std::system_error(err, std::generic_category(), "fstat " + path.string());
    }
    m_inode = st.st_ino;
}

HeldFile::~HeldFile() {
    ::close(m_fd);
}

mode_t mode_of(const fs::path& path) {
    return lstat_or_throw(path).st_mode & 07777;
}

void set_mode(const fs::path& path, mode_t mode) {
    if (::chmod(path.c_str(), mode) != 0)
        throw_errno("chmod", path);
}

void make_symlink(const std::string& value, const fs::path& link) {
    if (::symlink(value.c_str(), link.c_str()) != 0)
        throw_errno("symlink", link);
}

bool exists_no_follow(const fs::path& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0;
}

std::size_t make_tree(const fs::path& root, std::size_t n_dirs, std::size_t n_files,
                      unsigned seed) {
    constexpr std::size_t k_chain_length = 5;
    std::vector<fs::path> dirs{root};
    for (std::size_t i = 0; i < n_dirs; ++i) {
        const fs::path& parent = (i % k_chain_length == 0) ? root : dirs.back();
        fs::path dir = parent / fmt::format("d{:03}", i);
        if (::mkdir(dir.c_str(), 0755) != 0)
            throw_errno("mkdir", dir);
        dirs.push_back(std::move(dir));
    }
    for (std::size_t i = 0; i < n_files; ++i) {
        const fs::path file = dirs[i % dirs.size()] / fmt::format("f{:03}", i);
        const std::size_t size = (i * 397U) % 4096U;
        write_file(file, make_content(size, seed * 7919U + static_cast<unsigned>(i)));
    }
    return n_dirs + n_files;
}

} // namespace fsmirror::test_support
