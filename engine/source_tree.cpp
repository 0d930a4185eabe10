#include "engine/source_tree.hpp"

#include "base/rel_path.hpp"
#include "transport/local_fs.hpp"

#include <cerrno>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

namespace fsmirror::engine {

using base::Result;
using base::UniqueFd;

SourceTree::SourceTree(std::filesystem::path root) : m_root(std::move(root)) {}

base::Status SourceTree::open() {
    int fd = ::open(m_root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return base::fail_errno("open source directory " + m_root.string());
    m_root_fd.reset(fd);
    return {};
}

bool SourceTree::root_replaced() const {
    struct stat opened {};
    struct stat now {};
    if (!m_root_fd.valid() || ::fstat(m_root_fd.get(), &opened) != 0)
        return true;
    if (::stat(m_root.c_str(), &now) != 0)
        return true;
    return opened.st_dev != now.st_dev || opened.st_ino != now.st_ino;
}

std::string SourceTree::display(std::string_view path) const {
    return base::absolute_in(m_root, path).string();
}

Result<std::optional<transport::EntryInfo>> SourceTree::stat(std::string_view path) const {
    if (path.empty())
        return transport::stat_at(m_root_fd.get(), ".", display(path));
    auto parent =
        transport::open_directory_beneath(m_root_fd.get(), base::parent_rel(path), display(path));
    if (!parent) {
        if (parent.error().kind == base::ErrorKind::not_found)
            return std::optional<transport::EntryInfo>{};
        return std::unexpected(parent.error());
    }
    return transport::stat_at(parent->get(), std::string(base::base_name(path)), display(path));
}

Result<std::vector<transport::DirEntry>> SourceTree::list_directory(std::string_view path) const {
    auto dir = transport::open_directory_beneath(m_root_fd.get(), path, display(path));
    if (!dir)
        return std::unexpected(dir.error());
    return transport::list_directory_fd(dir->get(), display(path));
}

Result<bool> SourceTree::any_entry(
    std::string_view path,
    const std::function<bool(std::string_view name, bool is_directory)>& counts) const {
    auto dir = transport::open_directory_beneath(m_root_fd.get(), path, display(path));
    if (!dir)
        return std::unexpected(dir.error());
    int fd = ::openat(dir->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return base::fail_errno("open directory " + display(path));
    DIR* stream = ::fdopendir(fd);
    if (!stream) {
        ::close(fd);
        return base::fail_errno("open directory " + display(path));
    }
    bool found = false;
    errno = 0;
    while (dirent* item = ::readdir(stream)) {
        std::string_view name = item->d_name;
        if (name == "." || name == "..")
            continue;
        bool is_directory = item->d_type == DT_DIR;
        if (item->d_type == DT_UNKNOWN) {
            struct stat st {};
            if (::fstatat(::dirfd(stream), item->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            is_directory = S_ISDIR(st.st_mode);
        }
        if (counts(name, is_directory)) {
            found = true;
            break;
        }
        errno = 0;
    }
    int read_errno = found ? 0 : errno;
    ::closedir(stream);
    if (read_errno != 0)
        return std::unexpected(
            base::error_from_errno(read_errno, "read directory " + display(path)));
    return found;
}

Result<UniqueFd> SourceTree::open_file(std::string_view path) const {
    // O_NOATIME keeps reading from dirtying the source's inodes; only the owner or root may ask.
    auto file =
        transport::open_file_beneath(m_root_fd.get(), path, O_RDONLY | O_NOATIME, display(path));
    if (!file && file.error().native_code == EPERM)
        file = transport::open_file_beneath(m_root_fd.get(), path, O_RDONLY, display(path));
    return file;
}

Result<UniqueFd> SourceTree::open_directory(std::string_view path) const {
    return transport::open_directory_beneath(m_root_fd.get(), path, display(path));
}

} // namespace fsmirror::engine
