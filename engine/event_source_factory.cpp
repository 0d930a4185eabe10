// The one place that knows every event-source backend.

#include "base/rel_path.hpp"
#include "engine/event_source.hpp"
#include "engine/fanotify_event_source.hpp"
#include "engine/inotify_event_source.hpp"

#include <stdexcept>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace fsmirror::engine {

namespace {

// Returns the number of directories in the tree, counting no further than `limit`: a file
// system with fewer inodes in use is answered at once, otherwise directories are listed
// (from d_type, never a stat per file) until the count passes the limit.
std::size_t count_directories_up_to(const std::filesystem::path& root,
                                    const ExcludeFilter* excludes, std::size_t limit) {
    struct statvfs fs {};
    if (::statvfs(root.c_str(), &fs) == 0 && fs.f_files >= fs.f_ffree &&
        fs.f_files - fs.f_ffree <= limit)
        return static_cast<std::size_t>(fs.f_files - fs.f_ffree);
    std::size_t count = 0;
    std::vector<std::string> pending{""};
    while (!pending.empty() && count <= limit) {
        std::string path = std::move(pending.back());
        pending.pop_back();
        ++count;
        auto absolute = base::absolute_in(root, path);
        int fd = ::open(absolute.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
            continue;
        DIR* stream = ::fdopendir(fd);
        if (!stream) {
            ::close(fd);
            continue;
        }
        while (dirent* entry = ::readdir(stream)) {
            std::string_view name = entry->d_name;
            if (name == "." || name == "..")
                continue;
            bool is_directory = entry->d_type == DT_DIR;
            if (entry->d_type == DT_UNKNOWN) {
                struct stat st {};
                is_directory = ::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                               S_ISDIR(st.st_mode);
            }
            if (!is_directory)
                continue;
            std::string child = base::join_rel(path, name);
            if (!excludes || !excludes->is_excluded(child, EntryKind::directory))
                pending.push_back(std::move(child));
        }
        ::closedir(stream);
    }
    return count;
}

std::unique_ptr<EventSource> make_inotify(EventSourceOptions options, const std::string& why) {
    if (options.logger)
        options.logger->info("{}: events from inotify ({})", options.root.string(), why);
    return std::make_unique<InotifyEventSource>(std::move(options));
}

std::unique_ptr<EventSource> make_fanotify(EventSourceOptions options, const std::string& why) {
    if (options.logger)
        options.logger->info("{}: events from fanotify ({})", options.root.string(), why);
    return std::make_unique<FanotifyEventSource>(std::move(options));
}

} // namespace

const char* to_string(EventSourceKind kind) {
    switch (kind) {
    case EventSourceKind::inotify:
        return "inotify";
    case EventSourceKind::fanotify:
        return "fanotify";
    case EventSourceKind::automatic:
        return "auto";
    }
    return "unknown";
}

const char* to_string(EventKind kind) {
    switch (kind) {
    case EventKind::created:
        return "created";
    case EventKind::modified:
        return "modified";
    case EventKind::attrib:
        return "attrib";
    case EventKind::removed:
        return "removed";
    case EventKind::moved:
        return "moved";
    case EventKind::rescan:
        return "rescan";
    case EventKind::root_lost:
        return "root_lost";
    }
    return "unknown";
}

std::unique_ptr<EventSource> make_event_source(EventSourceKind kind, EventSourceOptions options) {
    switch (kind) {
    case EventSourceKind::inotify:
        return make_inotify(std::move(options), "events: inotify");
    case EventSourceKind::fanotify: {
        auto available = FanotifyEventSource::check_available(options.root);
        if (available)
            return make_fanotify(std::move(options), "events: fanotify");
        if (options.logger)
            options.logger->warning("{}; using inotify instead", available.error().message);
        return make_inotify(std::move(options), "events: fanotify is unavailable");
    }
    case EventSourceKind::automatic: {
        // Counted first, so that a small tree never calls fanotify at all (a sandboxed
        // service may not allow its system calls).
        auto directories =
            options.directories_counted
                ? static_cast<std::size_t>(*options.directories_counted)
                : count_directories_up_to(options.root, options.excludes, k_large_tree_directories);
        if (directories <= k_large_tree_directories)
            return make_inotify(
                std::move(options),
                fmt::format("events: auto; a tree of {} directories or fewer, a large one has "
                            "more than {}",
                            directories, k_large_tree_directories));
        auto available = FanotifyEventSource::check_available(options.root);
        if (!available)
            return make_inotify(std::move(options),
                                fmt::format("events: auto; more than {} directories, but {}",
                                            k_large_tree_directories, available.error().message));
        return make_fanotify(
            std::move(options),
            fmt::format("events: auto; more than {} directories", k_large_tree_directories));
    }
    }
    throw std::invalid_argument("unknown event source kind");
}

} // namespace fsmirror::engine
