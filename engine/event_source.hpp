#pragma once
// Where the engine learns of changes. One implementation per kernel facility (inotify: a
// watch per directory; fanotify: one mark on the file system, for huge trees), chosen by
// make_event_source().

#include "base/error.hpp"
#include "base/logger.hpp"
#include "engine/exclude_filter.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::engine {

enum class EventKind : std::uint8_t {
    created,   // a new entry (for a directory: its whole content must be looked at)
    modified,  // content changed (also while the file is still open)
    attrib,    // mode, owner or times changed
    removed,   // gone (also: moved out of the tree)
    moved,     // renamed within the tree: from_path -> path
    rescan,    // events were lost below `path`: compare the subtree
    root_lost, // the source root itself vanished or was unmounted
};

// Returns the kind's name for logs ("created", "moved", ...).
const char* to_string(EventKind kind);

struct FsEvent {
    EventKind kind = EventKind::modified;
    std::string path;      // relative to the source root; the destination for `moved`
    std::string from_path; // `moved` only
    bool is_directory = false;
    // A write seen without its close yet (IN_MODIFY, a file's IN_CREATE): the rest of the
    // write and its close usually follow within microseconds, so the queue waits briefly for
    // them instead of copying the file twice (see PendingChanges).
    bool write_in_progress = false;
};

struct EventSourceOptions {
    std::filesystem::path root;
    const ExcludeFilter* excludes = nullptr; // excluded directories are not watched
    base::Logger* logger = nullptr;
    // The tree's directories when already counted (the pre-flight census): `auto` then
    // decides without walking the tree again.
    std::optional<std::uint64_t> directories_counted;
};

class EventSource {
public:
    virtual ~EventSource() = default;

    // Starts watching the whole tree. Called before the initial comparison so that nothing
    // that changes between the two is lost. Returns limit_reached (with the sysctl to raise)
    // when the kernel's watch limit is too low, not_found when the root is missing.
    virtual base::Status start() = 0;

    // Waits up to `timeout` for events and returns all that are available, possibly none.
    virtual base::Result<std::vector<FsEvent>> poll(std::chrono::milliseconds timeout) = 0;

    // Makes a blocked or the next poll() return at once (used for shutdown; thread-safe).
    virtual void wake() = 0;

    // Returns the number of kernel watches held (directories, for inotify).
    virtual std::size_t watch_count() const = 0;

    // Returns the watched directories, relative to the root ("" is the root), for status.
    virtual std::vector<std::string> watched_directories() const = 0;

    virtual std::string_view name() const = 0;
};

enum class EventSourceKind {
    inotify,
    fanotify,  // falls back to inotify, saying why, where fanotify cannot watch the root
    automatic, // fanotify for a large tree where it can watch the root, inotify otherwise
};

// Returns the kind's name as the configuration spells it ("inotify", "fanotify", "auto").
const char* to_string(EventSourceKind kind);

// A tree with more directories than this is large: `automatic` picks fanotify for it, whose
// start does not grow with the number of directories.
inline constexpr std::size_t k_large_tree_directories = 50'000;

// Returns the event source of `kind`, logging (through options.logger) which one and why.
// Throws std::runtime_error when it cannot be created (e.g. inotify_init1 fails for lack of
// instances).
std::unique_ptr<EventSource> make_event_source(EventSourceKind kind, EventSourceOptions options);

} // namespace fsmirror::engine
