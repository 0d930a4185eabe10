#include "engine/inotify_event_source.hpp"

#include "base/rel_path.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <stdexcept>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::engine {

using base::Result;
using base::Status;

namespace {

// IN_MODIFY as well as IN_CLOSE_WRITE: a file held open and written (a log, a database) never
// closes, and lsyncd's close-write mode never sees it.
// No IN_DONT_FOLLOW: the watch is added through /proc/self/fd, a link that must be followed
// (the descriptor itself was opened with O_NOFOLLOW).
constexpr std::uint32_t k_watch_mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE |
                                       IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |
                                       IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;

// How long an unpaired IN_MOVED_FROM waits for its IN_MOVED_TO: the kernel queues the pair
// back to back, but a read can fall between them.
constexpr std::chrono::milliseconds k_move_pair_wait{5};

std::string watch_limit_message(const std::filesystem::path& dir) {
    return "out of inotify watches while watching " + dir.string() +
           ": raise the limit, e.g. `sysctl fs.inotify.max_user_watches=1048576` (and persist it "
           "in /etc/sysctl.d/)";
}

// Returns the names of the directories in `dir_fd`, from readdir's d_type where the file system
// fills it in, so watching a tree never stats its files.
std::vector<std::string> subdirectory_names(int dir_fd) {
    std::vector<std::string> names;
    int listing = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (listing < 0)
        return names;
    DIR* stream = ::fdopendir(listing);
    if (!stream) {
        ::close(listing);
        return names;
    }
    while (dirent* entry = ::readdir(stream)) {
        std::string_view name = entry->d_name;
        if (name == "." || name == "..")
            continue;
        bool is_directory = entry->d_type == DT_DIR;
        if (entry->d_type == DT_UNKNOWN) {
            struct stat st {};
            is_directory =
                ::fstatat(::dirfd(stream), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISDIR(st.st_mode);
        }
        if (is_directory)
            names.emplace_back(name);
    }
    ::closedir(stream);
    return names;
}

} // namespace

InotifyEventSource::InotifyEventSource(EventSourceOptions options) : m_options(std::move(options)) {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0)
        throw std::runtime_error(
            base::error_from_errno(errno, "inotify_init1 (raise fs.inotify.max_user_instances "
                                          "if it is exhausted)")
                .message);
    m_inotify_fd.reset(fd);
    int wake = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake < 0)
        throw std::runtime_error(base::error_from_errno(errno, "eventfd").message);
    m_wake_fd.reset(wake);
}

bool InotifyEventSource::is_excluded(const std::string& path, bool is_directory) const {
    if (path.empty() || !m_options.excludes)
        return false;
    return m_options.excludes->is_excluded(path,
                                           is_directory ? EntryKind::directory : EntryKind::file);
}

Status InotifyEventSource::start() {
    m_root_lost = false;
    return watch_tree("", -1, "");
}

Status InotifyEventSource::watch_tree(const std::string& path, int parent_wd,
                                      const std::string& name) {
    auto absolute = base::absolute_in(m_options.root, path);
    // Open first and watch what was opened (through /proc/self/fd), so the watch, the inode we
    // record and the listing all belong to one directory even while names are being renamed.
    base::UniqueFd dir(::open(absolute.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid()) {
        int err = errno;
        if (path.empty() || (err != ENOENT && err != ENOTDIR && err != ELOOP))
            return std::unexpected(base::error_from_errno(err, "open " + absolute.string()));
        // `path` is what the name was when the event was queued; an ancestor may have been
        // renamed since. Its event is still to be read: try again once it has been.
        m_unplaced.push_back(UnplacedDirectory{parent_wd, name});
        return {};
    }
    if (parent_wd >= 0) {
        // The name may now lead to another directory than the one the event was about (an
        // ancestor renamed and its old name made again): that one gets its own events.
        struct stat parent {};
        auto node = m_nodes.find(parent_wd);
        if (node == m_nodes.end() || ::fstatat(dir.get(), "..", &parent, 0) != 0 ||
            parent.st_ino != node->second.inode) {
            m_unplaced.push_back(UnplacedDirectory{parent_wd, name});
            return {};
        }
    }
    return watch_opened(std::move(dir), path, parent_wd, name);
}

Status InotifyEventSource::watch_opened(base::UniqueFd dir, const std::string& path, int parent_wd,
                                        const std::string& name) {
    auto absolute = base::absolute_in(m_options.root, path);
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0)
        return base::fail_errno("stat " + absolute.string());
    std::string handle = "/proc/self/fd/" + std::to_string(dir.get());
    int wd = ::inotify_add_watch(m_inotify_fd.get(), handle.c_str(), k_watch_mask);
    if (wd < 0) {
        int err = errno;
        if (err == ENOSPC)
            return std::unexpected(
                base::Error{base::ErrorKind::limit_reached, watch_limit_message(absolute), err});
        return std::unexpected(base::error_from_errno(err, "watch " + absolute.string()));
    }
    auto existing = m_nodes.find(wd);
    if (existing != m_nodes.end() &&
        (existing->second.parent_wd != parent_wd || existing->second.name != name)) {
        // Already watched under another name (a move we did not see): re-place it.
        detach_child(existing->second.parent_wd, existing->second.name);
    }
    if (parent_wd >= 0) {
        // A different directory held this name before: whatever it is now, it is not here.
        if (auto previous = child_wd(parent_wd, name); previous && *previous != wd)
            unwatch_tree(*previous);
    }
    WatchNode& node = m_nodes[wd];
    node.inode = st.st_ino;
    node.parent_wd = parent_wd;
    node.name = name;
    if (parent_wd < 0)
        m_root_wd = wd;
    else
        m_nodes[parent_wd].children[name] = wd;

    // Children are opened through this directory's descriptor, not by path: a rename of an
    // ancestor during the walk cannot lead it into another subtree or make it miss this one.
    // A child renamed or removed after the listing reports that through the watch just set.
    for (const auto& name_of_child : subdirectory_names(dir.get())) {
        std::string child = base::join_rel(path, name_of_child);
        if (is_excluded(child, true))
            continue;
        base::UniqueFd child_dir(::openat(dir.get(), name_of_child.c_str(),
                                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!child_dir.valid()) {
            int err = errno;
            if (err == ENOENT || err == ENOTDIR || err == ELOOP)
                continue;
            return std::unexpected(base::error_from_errno(
                err, "open " + base::absolute_in(m_options.root, child).string()));
        }
        if (auto status = watch_opened(std::move(child_dir), child, wd, name_of_child); !status)
            return status;
    }
    return {};
}

void InotifyEventSource::place_unplaced(std::vector<FsEvent>& out) {
    std::vector<UnplacedDirectory> unplaced;
    unplaced.swap(m_unplaced);
    for (const auto& entry : unplaced) {
        if (!m_nodes.contains(entry.parent_wd) || child_wd(entry.parent_wd, entry.name))
            continue; // its parent is gone, or a later event placed it
        std::string path = base::join_rel(path_of(entry.parent_wd), entry.name);
        if (is_excluded(path, true) || inode_at(path) == 0)
            continue; // removed or renamed since: that event covers it
        if (auto status = watch_tree(path, entry.parent_wd, entry.name); !status) {
            if (m_options.logger)
                m_options.logger->error("{}", status.error().message);
            continue;
        }
        // Whatever happened in it before the watch went unseen.
        if (child_wd(entry.parent_wd, entry.name))
            out.push_back(FsEvent{EventKind::rescan, path, "", true});
    }
}

ino_t InotifyEventSource::inode_at(const std::string& path) const {
    struct stat st {};
    if (::lstat(base::absolute_in(m_options.root, path).c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    return st.st_ino;
}

bool InotifyEventSource::watch_is_newer_than_move(int wd, const std::string& from,
                                                  const std::string& to) const {
    // Both names are as the events read so far leave them; later renames (of the directory or
    // of an ancestor) may already have changed what they lead to, so a name that leads nowhere
    // proves nothing. The watch is the moved directory unless it still sits under the old name,
    // or the new name leads to another directory.
    auto node = m_nodes.find(wd);
    if (node == m_nodes.end())
        return true; // not a watch any more: watch what is at the new name
    const ino_t watched = node->second.inode;
    if (inode_at(from) == watched)
        return true;
    const ino_t at_destination = inode_at(to);
    return at_destination != 0 && at_destination != watched;
}

void InotifyEventSource::detach_child(int parent_wd, const std::string& name) {
    auto parent = m_nodes.find(parent_wd);
    if (parent != m_nodes.end())
        parent->second.children.erase(name);
}

std::optional<int> InotifyEventSource::child_wd(int parent_wd, const std::string& name) const {
    auto parent = m_nodes.find(parent_wd);
    if (parent == m_nodes.end())
        return std::nullopt;
    auto child = parent->second.children.find(name);
    if (child == parent->second.children.end())
        return std::nullopt;
    return child->second;
}

void InotifyEventSource::unwatch_tree(int wd) {
    auto node = m_nodes.find(wd);
    if (node == m_nodes.end())
        return;
    // Its parent must not keep the name: a later directory of that name is another one.
    if (auto parent_child = child_wd(node->second.parent_wd, node->second.name);
        parent_child && *parent_child == wd)
        detach_child(node->second.parent_wd, node->second.name);
    unwatch_subtree(wd);
}

void InotifyEventSource::unwatch_subtree(int wd) {
    auto node = m_nodes.find(wd);
    if (node == m_nodes.end())
        return;
    for (const auto& [child_name, child] : node->second.children)
        unwatch_subtree(child);
    ::inotify_rm_watch(m_inotify_fd.get(), wd);
    m_nodes.erase(wd);
}

std::string InotifyEventSource::path_of(int wd) const {
    std::vector<const std::string*> parts;
    for (auto node = m_nodes.find(wd); node != m_nodes.end() && node->second.parent_wd >= 0;
         node = m_nodes.find(node->second.parent_wd))
        parts.push_back(&node->second.name);
    std::string path;
    for (auto part = parts.rbegin(); part != parts.rend(); ++part)
        path = base::join_rel(path, **part);
    return path;
}

std::vector<std::string> InotifyEventSource::watched_directories() const {
    std::vector<std::string> paths;
    paths.reserve(m_nodes.size());
    for (const auto& [wd, node] : m_nodes)
        paths.push_back(path_of(wd));
    std::sort(paths.begin(), paths.end());
    return paths;
}

void InotifyEventSource::wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(m_wake_fd.get(), &one, sizeof one);
}

Result<std::vector<FsEvent>> InotifyEventSource::poll(std::chrono::milliseconds timeout) {
    std::vector<FsEvent> events;
    std::array<pollfd, 2> fds{pollfd{m_inotify_fd.get(), POLLIN, 0},
                              pollfd{m_wake_fd.get(), POLLIN, 0}};
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR)
        return base::fail_errno("poll inotify");
    if (fds[1].revents & POLLIN) {
        std::uint64_t count = 0;
        [[maybe_unused]] auto got = ::read(m_wake_fd.get(), &count, sizeof count);
    }
    auto got = read_available(events);
    if (!got)
        return std::unexpected(got.error());
    while (!m_pending_moves.empty()) {
        pollfd pair_fd{m_inotify_fd.get(), POLLIN, 0};
        if (::poll(&pair_fd, 1, static_cast<int>(k_move_pair_wait.count())) <= 0)
            break;
        auto more = read_available(events);
        if (!more)
            return std::unexpected(more.error());
        if (!*more)
            break;
    }
    flush_unpaired_moves(events);
    place_unplaced(events);
    return events;
}

Result<bool> InotifyEventSource::read_available(std::vector<FsEvent>& out) {
    alignas(inotify_event) std::array<char, 64 * 1024> buffer;
    bool any = false;
    for (;;) {
        ssize_t length = ::read(m_inotify_fd.get(), buffer.data(), buffer.size());
        if (length < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return any;
            return base::fail_errno("read inotify");
        }
        any = true;
        for (ssize_t offset = 0; offset < length;) {
            const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + offset);
            translate(*event, out);
            offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
    }
}

void InotifyEventSource::on_overflow(std::vector<FsEvent>& out) {
    // Lost events may include new directories: watch whatever is missing, then compare the
    // whole tree. One rescan, however many overflows; never a restart.
    if (m_options.logger)
        m_options.logger->warning("--- OVERFLOW in event queue --- {}: rescanning the tree",
                                  m_options.root.string());
    m_pending_moves.clear();
    if (auto status = watch_tree("", -1, ""); !status && m_options.logger)
        m_options.logger->error("{}", status.error().message);
    bool already = std::any_of(out.begin(), out.end(), [](const FsEvent& e) {
        return e.kind == EventKind::rescan && e.path.empty();
    });
    if (!already)
        out.push_back(FsEvent{EventKind::rescan, "", "", true});
}

void InotifyEventSource::translate(const inotify_event& event, std::vector<FsEvent>& out) {
    if (event.mask & IN_Q_OVERFLOW) {
        on_overflow(out);
        return;
    }
    if (event.wd == m_root_wd &&
        (event.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED))) {
        if (!m_root_lost)
            out.push_back(FsEvent{EventKind::root_lost, "", "", true});
        m_root_lost = true;
        return;
    }
    if (event.mask & IN_IGNORED) {
        auto node = m_nodes.find(event.wd);
        if (node != m_nodes.end())
            unwatch_tree(event.wd);
        return;
    }
    if (event.len == 0 || !m_nodes.contains(event.wd))
        return; // self events of subdirectories are reported by their parent
    std::string name = event.name;
    std::string path = base::join_rel(path_of(event.wd), name);
    bool is_directory = (event.mask & IN_ISDIR) != 0;

    if (event.mask & IN_MOVED_FROM) {
        if (!is_excluded(path, is_directory))
            m_pending_moves.push_back({event.cookie, event.wd, name, path, is_directory});
        return;
    }
    if (event.mask & IN_MOVED_TO) {
        auto from =
            std::find_if(m_pending_moves.begin(), m_pending_moves.end(),
                         [&](const PendingMoveFrom& m) { return m.cookie == event.cookie; });
        bool excluded = is_excluded(path, is_directory);
        if (from == m_pending_moves.end()) {
            if (excluded)
                return;
            if (is_directory)
                (void)watch_tree(path, event.wd, name);
            out.push_back(FsEvent{EventKind::created, path, "", is_directory});
            return;
        }
        PendingMoveFrom move = *from;
        m_pending_moves.erase(from);
        auto moved_wd = move.is_directory ? child_wd(move.parent_wd, move.name) : std::nullopt;
        if (excluded) {
            if (moved_wd)
                unwatch_tree(*moved_wd);
            out.push_back(FsEvent{EventKind::removed, move.path, "", move.is_directory});
            return;
        }
        bool raced = false;
        if (moved_wd && watch_is_newer_than_move(*moved_wd, move.path, path)) {
            // The watch under the old name belongs to a directory created there after the
            // move (mkdir a; mv a b; mkdir a): leave it, watch what is really at `path`, and
            // compare that subtree, since events in it may have gone unseen.
            moved_wd.reset();
            raced = true;
        }
        if (moved_wd) {
            detach_child(move.parent_wd, move.name);
            WatchNode& node = m_nodes[*moved_wd];
            node.parent_wd = event.wd;
            node.name = name;
            m_nodes[event.wd].children[name] = *moved_wd;
        } else if (is_directory) {
            (void)watch_tree(path, event.wd, name);
        }
        out.push_back(FsEvent{EventKind::moved, path, move.path, is_directory});
        if (raced)
            out.push_back(FsEvent{EventKind::rescan, path, "", true});
        return;
    }
    if (is_excluded(path, is_directory))
        return;
    if (event.mask & IN_CREATE) {
        if (is_directory)
            (void)watch_tree(path, event.wd, name);
        out.push_back(FsEvent{EventKind::created, path, "", is_directory, !is_directory});
    } else if (event.mask & IN_DELETE) {
        if (is_directory)
            if (auto wd = child_wd(event.wd, name))
                unwatch_tree(*wd);
        out.push_back(FsEvent{EventKind::removed, path, "", is_directory});
    } else if (event.mask & (IN_MODIFY | IN_CLOSE_WRITE)) {
        out.push_back(FsEvent{EventKind::modified, path, "", is_directory,
                              (event.mask & IN_CLOSE_WRITE) == 0});
    } else if (event.mask & IN_ATTRIB) {
        out.push_back(FsEvent{EventKind::attrib, path, "", is_directory});
    }
}

void InotifyEventSource::flush_unpaired_moves(std::vector<FsEvent>& out) {
    // Moved out of the tree: the target loses it too, and its watches go.
    for (const auto& move : m_pending_moves) {
        if (move.is_directory)
            if (auto wd = child_wd(move.parent_wd, move.name))
                unwatch_tree(*wd);
        out.push_back(FsEvent{EventKind::removed, move.path, "", move.is_directory});
    }
    m_pending_moves.clear();
}

} // namespace fsmirror::engine
