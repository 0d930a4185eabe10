#include "transport/local_fs.hpp"

#include <cerrno>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::transport {

using base::fail_errno;
using base::Result;
using base::Status;
using base::UniqueFd;

const char* to_string(EntryType type) {
    switch (type) {
    case EntryType::file:
        return "file";
    case EntryType::directory:
        return "directory";
    case EntryType::symlink:
        return "symlink";
    case EntryType::other:
        return "special file";
    }
    return "special file";
}

EntryInfo entry_info_from_stat(const struct stat& st) {
    EntryInfo info;
    if (S_ISREG(st.st_mode))
        info.type = EntryType::file;
    else if (S_ISDIR(st.st_mode))
        info.type = EntryType::directory;
    else if (S_ISLNK(st.st_mode))
        info.type = EntryType::symlink;
    else
        info.type = EntryType::other;
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.mtime_ns =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    info.mode = st.st_mode & 07777;
    info.uid = st.st_uid;
    info.gid = st.st_gid;
    info.inode = st.st_ino;
    info.link_count = static_cast<std::uint32_t>(st.st_nlink);
    return info;
}

namespace {

Result<std::string> read_link_at(int dir_fd, const std::string& name, const std::string& display,
                                 std::size_t size_hint) {
    std::string buffer(size_hint + 1 > 256 ? size_hint + 1 : 256, '\0');
    for (;;) {
        ssize_t n = ::readlinkat(dir_fd, name.c_str(), buffer.data(), buffer.size());
        if (n < 0)
            return fail_errno("readlink " + display);
        if (static_cast<std::size_t>(n) < buffer.size()) {
            buffer.resize(static_cast<std::size_t>(n));
            return buffer;
        }
        buffer.resize(buffer.size() * 2);
    }
}

} // namespace

Result<std::optional<EntryInfo>> stat_at(int dir_fd, const std::string& name,
                                         const std::string& display) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return std::optional<EntryInfo>{};
        return fail_errno("stat " + display);
    }
    EntryInfo info = entry_info_from_stat(st);
    if (info.type == EntryType::symlink) {
        auto target = read_link_at(dir_fd, name, display, info.size);
        if (!target) {
            if (target.error().kind == base::ErrorKind::not_found)
                return std::optional<EntryInfo>{};
            return std::unexpected(target.error());
        }
        info.link_target = std::move(*target);
    }
    return info;
}

Result<std::vector<DirEntry>> list_directory_fd(int dir_fd, const std::string& display) {
    int listing_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (listing_fd < 0)
        return fail_errno("open directory " + display);
    DIR* dir = ::fdopendir(listing_fd);
    if (!dir) {
        ::close(listing_fd);
        return fail_errno("open directory " + display);
    }
    std::vector<DirEntry> entries;
    errno = 0;
    while (dirent* item = ::readdir(dir)) {
        std::string name = item->d_name;
        if (name == "." || name == "..")
            continue;
        auto info = stat_at(::dirfd(dir), name, display + "/" + name);
        if (!info) {
            ::closedir(dir);
            return std::unexpected(info.error());
        }
        if (*info)
            entries.push_back(DirEntry{std::move(name), std::move(**info)});
        errno = 0;
    }
    int read_errno = errno;
    ::closedir(dir);
    if (read_errno != 0)
        return std::unexpected(base::error_from_errno(read_errno, "read directory " + display));
    return entries;
}

Status remove_tree_at(int dir_fd, const std::string& name, const std::string& display) {
    if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT)
        return {};
    if (errno != EISDIR && errno != EPERM)
        return fail_errno("remove " + display);
    int child = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) {
        if (errno == ENOENT)
            return {};
        return fail_errno("open directory " + display);
    }
    UniqueFd child_fd(child);
    auto entries = list_directory_fd(child_fd.get(), display);
    if (!entries)
        return std::unexpected(entries.error());
    for (const auto& entry : *entries) {
        auto removed = remove_tree_at(child_fd.get(), entry.name, display + "/" + entry.name);
        if (!removed)
            return removed;
    }
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
        return fail_errno("remove directory " + display);
    return {};
}

} // namespace fsmirror::transport

#include <linux/openat2.h>
#include <sys/syscall.h>

namespace fsmirror::transport {

namespace {

int openat2_beneath(int root_fd, const char* path,
                    std::uint64_t flags = O_PATH | O_DIRECTORY | O_CLOEXEC) {
    open_how how{};
    how.flags = flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, root_fd, path, &how, sizeof how));
}

bool is_missing_errno(int err) {
    return err == ENOENT || err == ENOTDIR || err == ELOOP;
}

} // namespace

Result<UniqueFd> open_directory_beneath(int root_fd, std::string_view rel_dir,
                                        const std::string& display) {
    std::string path = rel_dir.empty() ? std::string(".") : std::string(rel_dir);
    int fd = openat2_beneath(root_fd, path.c_str());
    if (fd < 0) {
        int err = errno;
        if (is_missing_errno(err))
            return std::unexpected(
                base::Error{base::ErrorKind::not_found, "directory not found: " + display, err});
        return std::unexpected(base::error_from_errno(err, "open directory " + display));
    }
    return UniqueFd(fd);
}

Result<UniqueFd> open_file_beneath(int root_fd, std::string_view rel_path, int flags,
                                   const std::string& display) {
    // One system call where opening the parent and then the name costs three (open, open,
    // close): a file mirrored costs a handful of calls, so this is a sizeable share.
    std::string path(rel_path);
    int fd = openat2_beneath(root_fd, path.c_str(), static_cast<std::uint64_t>(flags | O_CLOEXEC));
    if (fd < 0) {
        int err = errno;
        if (is_missing_errno(err))
            return std::unexpected(
                base::Error{base::ErrorKind::not_found, "no longer a file: " + display, err});
        return std::unexpected(base::error_from_errno(err, "open " + display));
    }
    return UniqueFd(fd);
}

Result<UniqueFd> make_directories_beneath(int root_fd, std::string_view rel_dir,
                                          const std::string& display) {
    auto direct = open_directory_beneath(root_fd, rel_dir, display);
    if (direct || direct.error().kind != base::ErrorKind::not_found)
        return direct;
    UniqueFd current(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
    if (!current.valid())
        return fail_errno("dup " + display);
    std::size_t start = 0;
    while (start < rel_dir.size()) {
        std::size_t end = rel_dir.find('/', start);
        if (end == std::string_view::npos)
            end = rel_dir.size();
        std::string component(rel_dir.substr(start, end - start));
        int next = openat2_beneath(current.get(), component.c_str());
        if (next < 0 && is_missing_errno(errno)) {
            auto removed = remove_tree_at(current.get(), component, display);
            if (!removed)
                return std::unexpected(removed.error());
            if (::mkdirat(current.get(), component.c_str(), 0755) != 0 && errno != EEXIST)
                return fail_errno("create directory " + display);
            next = openat2_beneath(current.get(), component.c_str());
        }
        if (next < 0)
            return fail_errno("open directory " + display);
        current.reset(next);
        start = end + 1;
    }
    return current;
}

} // namespace fsmirror::transport
