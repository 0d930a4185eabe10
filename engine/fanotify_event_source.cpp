#include "engine/fanotify_event_source.hpp"

#include "base/rel_path.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::engine {

using base::Result;
using base::Status;

namespace {

// Notification only, directory handle + name, the object's handle too (FAN_REPORT_FID makes
// attribute changes on files carry it, which is what lets the kernel tell them apart). The
// queue is unlimited because the mark sees the whole file system: while a long initial sync
// keeps the session from reading, activity elsewhere would otherwise overflow it and force a
// rescan of the whole tree.
constexpr unsigned k_init_flags = FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK |
                                  FAN_REPORT_DFID_NAME | FAN_REPORT_FID | FAN_UNLIMITED_QUEUE;

// FAN_RENAME (Linux 5.17) reports both ends of a move in one event, so moves need no pairing.
constexpr std::uint64_t k_mark_mask =
    FAN_CREATE | FAN_DELETE | FAN_MODIFY | FAN_CLOSE_WRITE | FAN_ATTRIB | FAN_RENAME | FAN_ONDIR;

// Past this many cached directories the cache starts over: it bounds memory on a tree of
// millions of directories; a miss costs three system calls.
constexpr std::size_t k_max_cached_directories = 65536;

// Reads per poll() before returning what was gathered, so that activity elsewhere on the
// file system cannot keep the session from running its batches.
constexpr int k_max_reads_per_poll = 64;

enum class Step { init, mark, handle };

base::Error fanotify_error(int err, Step step, const std::string& root) {
    base::ErrorKind kind = base::ErrorKind::fatal;
    std::string why;
    switch (err) {
    case EPERM:
        kind = base::ErrorKind::permission_denied;
        why = "it needs CAP_SYS_ADMIN and the fanotify system calls (run fsmirror as root; "
              "under the shipped systemd unit, add the drop-in in docs/configuration.md)";
        break;
    case ENOSYS:
        why = "this kernel is built without fanotify";
        break;
    case EINVAL:
        why = step == Step::init ? "this kernel cannot report directory handles and names "
                                   "(FAN_REPORT_DFID_NAME needs Linux 5.9)"
                                 : "this kernel cannot report renames (FAN_RENAME needs Linux "
                                   "5.17)";
        break;
    case EOPNOTSUPP:
    case ENODEV:
        why = "its file system does not support file handles";
        break;
    case EXDEV:
        why = "it is on a subvolume or an idmapped mount, whose file handles fanotify cannot "
              "report";
        break;
    case EMFILE:
        kind = base::ErrorKind::limit_reached;
        why = "too many fanotify groups (raise fs.fanotify.max_user_groups)";
        break;
    case ENOENT:
    case ENOTDIR:
        kind = base::ErrorKind::not_found;
        why = "it does not exist";
        break;
    default:
        why = std::strerror(err);
        break;
    }
    return base::Error{kind, "fanotify cannot watch " + root + ": " + why, err};
}

// Returns the bytes of the file handle of `path` (header included), as fanotify reports them.
Result<std::string> handle_of(const std::string& path) {
    std::array<char, sizeof(file_handle) + MAX_HANDLE_SZ> buffer{};
    auto* handle = reinterpret_cast<file_handle*>(buffer.data());
    handle->handle_bytes = MAX_HANDLE_SZ;
    int mount_id = 0;
    if (::name_to_handle_at(AT_FDCWD, path.c_str(), handle, &mount_id, 0) != 0)
        return std::unexpected(fanotify_error(errno, Step::handle, path));
    return std::string(buffer.data(), sizeof(file_handle) + handle->handle_bytes);
}

struct Marked {
    base::UniqueFd root_fd;
    base::UniqueFd fanotify_fd;
};

// Opens `root` and a fanotify group with a filesystem mark on its file system.
Result<Marked> open_marked(const std::string& root) {
    Marked marked;
    marked.root_fd.reset(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!marked.root_fd.valid())
        return std::unexpected(fanotify_error(errno, Step::mark, root));
    marked.fanotify_fd.reset(::fanotify_init(k_init_flags, O_RDONLY | O_CLOEXEC | O_LARGEFILE));
    if (!marked.fanotify_fd.valid())
        return std::unexpected(fanotify_error(errno, Step::init, root));
    if (::fanotify_mark(marked.fanotify_fd.get(), FAN_MARK_ADD | FAN_MARK_FILESYSTEM, k_mark_mask,
                        marked.root_fd.get(), nullptr) != 0)
        return std::unexpected(fanotify_error(errno, Step::mark, root));
    // Resolving needs open_by_handle_at, which needs CAP_DAC_READ_SEARCH.
    auto handle = handle_of(root);
    if (!handle)
        return std::unexpected(handle.error());
    alignas(file_handle) std::array<char, sizeof(file_handle) + MAX_HANDLE_SZ> buffer{};
    std::memcpy(buffer.data(), handle->data(), handle->size());
    base::UniqueFd opened(::open_by_handle_at(
        marked.root_fd.get(), reinterpret_cast<file_handle*>(buffer.data()), O_PATH | O_CLOEXEC));
    if (!opened.valid())
        return std::unexpected(fanotify_error(errno, Step::handle, root));
    return marked;
}

Result<std::string> canonical_root(const std::filesystem::path& root) {
    std::error_code error;
    auto canonical = std::filesystem::canonical(root, error);
    if (error)
        return std::unexpected(base::error_from_errno(error.value(), "open " + root.string()));
    return canonical.string();
}

} // namespace

FanotifyEventSource::FanotifyEventSource(EventSourceOptions options)
    : m_options(std::move(options)) {
    int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0)
        throw std::runtime_error(base::error_from_errno(errno, "eventfd").message);
    m_wake_fd.reset(wake);
}

Status FanotifyEventSource::check_available(const std::filesystem::path& root) {
    auto canonical = canonical_root(root);
    if (!canonical)
        return std::unexpected(canonical.error());
    auto marked = open_marked(*canonical);
    if (!marked)
        return std::unexpected(marked.error());
    return {};
}

Status FanotifyEventSource::start() {
    auto root = canonical_root(m_options.root);
    if (!root)
        return std::unexpected(root.error());
    auto marked = open_marked(*root);
    if (!marked)
        return std::unexpected(marked.error());
    m_root = *root;
    m_root_fd = std::move(marked->root_fd);
    m_fanotify_fd = std::move(marked->fanotify_fd);

    FanotifyTranslatorOptions translator{m_options.excludes, "", "", ::getpid()};
    if (m_root != "/") {
        std::filesystem::path path(m_root);
        // A root that is a mount point has its parent on another file system, whose events
        // never arrive here; its removal is caught by the session's identity check instead.
        if (auto parent = handle_of(path.parent_path().string()))
            translator.root_parent_handle = std::move(*parent);
        translator.root_name = path.filename().string();
    }
    m_translator.emplace(std::move(translator));
    m_inside.clear();
    m_inside_by_path.clear();
    m_outside.clear();
    return {};
}

void FanotifyEventSource::wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(m_wake_fd.get(), &one, sizeof one);
}

Result<std::vector<FsEvent>> FanotifyEventSource::poll(std::chrono::milliseconds timeout) {
    std::vector<FsEvent> events;
    std::array<pollfd, 2> fds{pollfd{m_fanotify_fd.get(), POLLIN, 0},
                              pollfd{m_wake_fd.get(), POLLIN, 0}};
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR)
        return base::fail_errno("poll fanotify");
    if (fds[1].revents & POLLIN) {
        std::uint64_t count = 0;
        [[maybe_unused]] auto got = ::read(m_wake_fd.get(), &count, sizeof count);
    }
    if (!m_fanotify_fd.valid())
        return events;
    auto got = read_available(events);
    if (!got)
        return std::unexpected(got.error());
    if (m_unresolved > 0 && m_options.logger)
        m_options.logger->warning("fanotify: {} directory handles could not be resolved under "
                                  "{}; rescanning the tree",
                                  m_unresolved, m_root);
    m_unresolved = 0;
    return events;
}

Result<bool> FanotifyEventSource::read_available(std::vector<FsEvent>& out) {
    alignas(fanotify_event_metadata) std::array<char, 64 * 1024> buffer;
    bool any = false;
    auto resolver = [this](std::string_view handle) {
        return resolve(handle);
    };
    for (int reads = 0; reads < k_max_reads_per_poll; ++reads) {
        ssize_t length = ::read(m_fanotify_fd.get(), buffer.data(), buffer.size());
        if (length < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return any;
            return base::fail_errno("read fanotify");
        }
        any = true;
        for (const auto& record :
             decode_fanotify_records(std::span(buffer.data(), static_cast<std::size_t>(length)))) {
            if ((record.mask & FAN_Q_OVERFLOW) && m_options.logger)
                m_options.logger->warning("--- OVERFLOW in event queue --- {}: rescanning the tree",
                                          m_root);
            m_translator->translate(record, resolver, out);
            if ((record.mask & FAN_ONDIR) && (record.mask & FAN_RENAME))
                forget_changed_directory(record);
        }
    }
    return any;
}

DirectoryPlace FanotifyEventSource::resolve(std::string_view handle) {
    std::string key(handle);
    if (auto inside = m_inside.find(key); inside != m_inside.end())
        return DirectoryPlace{DirectoryPlace::Where::inside, inside->second};
    if (m_outside.contains(key))
        return DirectoryPlace{DirectoryPlace::Where::outside, ""};
    DirectoryPlace place = resolve_uncached(handle);
    if (place.where == DirectoryPlace::Where::unknown)
        ++m_unresolved;
    else
        remember(key, place);
    return place;
}

void FanotifyEventSource::remember(const std::string& handle, const DirectoryPlace& place) {
    if (m_inside.size() + m_outside.size() >= k_max_cached_directories) {
        m_inside.clear();
        m_inside_by_path.clear();
        m_outside.clear();
    }
    if (place.where == DirectoryPlace::Where::outside) {
        m_outside.insert(handle);
    } else if (place.where == DirectoryPlace::Where::inside) {
        // One directory holds a path at a time: an older handle there was moved or removed.
        auto [at_path, inserted] = m_inside_by_path.try_emplace(place.path, handle);
        if (!inserted) {
            m_inside.erase(at_path->second);
            at_path->second = handle;
        }
        m_inside[handle] = place.path;
    }
}

DirectoryPlace FanotifyEventSource::resolve_uncached(std::string_view handle) const {
    alignas(file_handle) std::array<char, sizeof(file_handle) + MAX_HANDLE_SZ> buffer{};
    if (handle.size() > buffer.size())
        return {};
    std::memcpy(buffer.data(), handle.data(), handle.size());
    base::UniqueFd directory(::open_by_handle_at(
        m_root_fd.get(), reinterpret_cast<file_handle*>(buffer.data()), O_PATH | O_CLOEXEC));
    if (!directory.valid())
        return DirectoryPlace{errno == ESTALE || errno == ENOENT ? DirectoryPlace::Where::gone
                                                                 : DirectoryPlace::Where::unknown,
                              ""};
    std::array<char, PATH_MAX> link;
    std::string fd_path = "/proc/self/fd/" + std::to_string(directory.get());
    ssize_t length = ::readlink(fd_path.c_str(), link.data(), link.size());
    if (length <= 0 || static_cast<std::size_t>(length) >= link.size())
        return {};
    std::string_view path(link.data(), static_cast<std::size_t>(length));
    if (path.ends_with(" (deleted)")) {
        struct stat st {};
        if (::fstat(directory.get(), &st) == 0 && st.st_nlink == 0)
            return DirectoryPlace{DirectoryPlace::Where::gone, ""};
    }
    if (m_root == "/")
        return DirectoryPlace{DirectoryPlace::Where::inside, std::string(path.substr(1))};
    if (path == m_root)
        return DirectoryPlace{DirectoryPlace::Where::inside, ""};
    if (path.size() > m_root.size() && path.starts_with(m_root) && path[m_root.size()] == '/')
        return DirectoryPlace{DirectoryPlace::Where::inside,
                              std::string(path.substr(m_root.size() + 1))};
    return DirectoryPlace{DirectoryPlace::Where::outside, ""};
}

void FanotifyEventSource::forget_changed_directory(const FanotifyRecord& record) {
    // Handles stay valid across a rename, so the cached paths below the old name are wrong
    // now, and a directory cached as outside may have moved in. (A removed directory's handle
    // simply never comes again.)
    DirectoryPlace from = resolve(record.directory_handle);
    DirectoryPlace to = resolve(record.new_directory_handle);
    if (from.where == DirectoryPlace::Where::inside)
        forget_inside(base::join_rel(from.path, record.name));
    if (to.where == DirectoryPlace::Where::inside && from.where != DirectoryPlace::Where::inside)
        m_outside.clear();
}

void FanotifyEventSource::forget_inside(const std::string& path) {
    if (auto exact = m_inside_by_path.find(path); exact != m_inside_by_path.end()) {
        m_inside.erase(exact->second);
        m_inside_by_path.erase(exact);
    }
    // Everything below `path` sorts between "path/" and "path0" ('0' follows '/').
    auto first = m_inside_by_path.lower_bound(path + '/');
    auto last = m_inside_by_path.lower_bound(path + '0');
    for (auto entry = first; entry != last; ++entry)
        m_inside.erase(entry->second);
    m_inside_by_path.erase(first, last);
}

} // namespace fsmirror::engine
