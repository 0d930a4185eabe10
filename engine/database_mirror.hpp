#pragma once
// Mirrors SQLite databases as databases, not as files: a consistent snapshot taken through
// SQLite (in a helper process), checked, and delivered to the target through a temp file
// renamed into place, after the target's stale -wal/-shm/-journal companions are removed.
// Also answers which source files are databases and which are their companions, which are
// never mirrored as files. Used by TreeMirror from its worker threads; thread-safe.

#include "base/logger.hpp"
#include "engine/exclude_filter.hpp"
#include "engine/snapshot_taker.hpp"
#include "engine/source_tree.hpp"
#include "engine/sqlite_files.hpp"
#include "transport/transport.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace fsmirror::engine {

// SQLite totals and the recovery point of one sync, readable from any thread (the monitor's).
struct DatabaseCounters {
    std::atomic<std::uint64_t> snapshots{0};         // snapshots that landed on the target
    std::atomic<std::uint64_t> snapshot_failures{0}; // attempts that failed (retried later)
    std::atomic<std::uint64_t> bytes_written{0};     // written on the target for snapshots
    // Recovery point achieved by the last snapshot that carried changes: from the oldest change
    // it carried (as seen by the watcher) to its landing on the target, and the largest one.
    std::atomic<std::uint64_t> last_recovery_point_ms{0};
    std::atomic<std::uint64_t> max_recovery_point_ms{0};
    // Right now: how old the oldest database change not yet on the target is (0 when every
    // database is mirrored), and how many databases have such changes. Updated every step.
    std::atomic<std::uint64_t> unmirrored_age_ms{0};
    std::atomic<std::uint64_t> databases_unmirrored{0};
};

struct DatabaseMirrorOptions {
    // Which files may be databases (rsync-style patterns); empty: any file with the header.
    ExcludeFilter paths;
    // Where snapshots are written before they are sent: owned by this sync, never in the
    // source. Must exist (see prepare_snapshot_directory).
    std::filesystem::path snapshot_directory;
    // The sync's excludes: an excluded database is never snapshotted, and its companions are
    // not copied either. Null: nothing is excluded.
    const ExcludeFilter* excludes = nullptr;
};

class DatabaseMirror {
public:
    DatabaseMirror(const SourceTree& source, transport::Transport& target, SnapshotTaker& taker,
                   base::Logger& logger, DatabaseMirrorOptions options, DatabaseCounters& counters);

    // True when `path` may be a database by the configured paths (its content decides).
    bool may_be_database(std::string_view path) const;

    // True when source file `path` is allowed by the paths and starts with the SQLite header.
    // Reads 20 bytes through a descriptor it closes at once; safe because the daemon never
    // holds an SQLite connection. False when it is absent or unreadable.
    bool is_database(std::string_view path) const;

    // The same for a file the caller has open as `fd`.
    bool is_database(std::string_view path, int fd) const;

    // Returns the database `path` is a companion of, when that is a database in the source.
    std::optional<Companion> database_of(std::string_view path) const;

    // True when the sync's excludes cover `database`.
    bool is_excluded(std::string_view database) const;

    // Snapshots source database `path` and delivers it to the target over `existing` (what the
    // target holds at `path` now), with `source_info`'s attributes. The target's companions are
    // removed first. Returns what was written, or why not (the target keeps its last copy).
    base::Result<transport::PutResult> mirror(std::string_view path,
                                              const transport::EntryInfo& source_info,
                                              const std::optional<transport::EntryInfo>& existing);

    // Removes the -wal, -shm and -journal beside `database` on the target (files only).
    base::Status remove_target_companions(std::string_view database);

private:
    std::filesystem::path next_snapshot_path();

    const SourceTree& m_source;
    transport::Transport& m_target;
    SnapshotTaker& m_taker;
    base::Logger& m_logger;
    DatabaseMirrorOptions m_options;
    DatabaseCounters& m_counters;
    std::atomic<std::uint64_t> m_sequence{0};
};

// Checks `root` (making it, mode 0700, when missing) and returns `<root>/<sync name>.<pid>`,
// the directory for this process's snapshots of one sync, after removing the ones that
// processes no longer running left behind. The directory itself is made by the first snapshot
// (ensure_snapshot_directory), so a sync without databases leaves nothing behind. Refuses a
// root that is a symlink or belongs to another user (a shared /var/tmp). Returns the reason on
// failure.
base::Result<std::filesystem::path> prepare_snapshot_directory(const std::filesystem::path& root,
                                                               const std::string& sync_name);

// Makes `directory` and its parent when missing (mode 0700) and checks that both are real
// directories of this user's.
base::Status ensure_snapshot_directory(const std::filesystem::path& directory);

// Removes a directory made by prepare_snapshot_directory and what is left in it.
void remove_snapshot_directory(const std::filesystem::path& directory);

// Returns the default root for snapshot directories: $TMPDIR/fsmirror, else /var/tmp/fsmirror.
std::filesystem::path default_snapshot_root();

} // namespace fsmirror::engine
