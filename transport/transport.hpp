#pragma once
// The engine's only way to change a target. Paths are relative to the target root ("" is the
// root itself). Every method returns an error value; none throws.

#include "base/error.hpp"
#include "transport/content_hash.hpp"
#include "transport/entry_info.hpp"

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::transport {

// How a transport must deliver one file.
enum class FileSafety {
    per_policy,         // as the transport's write mode and durability policy say (the default)
    atomic_and_durable, // whatever the policy: through a temp file renamed into place (never
                        // in place), fsynced before the rename, its directory after. For
                        // SQLite snapshots, which readers must only ever see whole.
};

// A source file opened by the engine for reading, with the attributes to give its copy.
struct SourceFile {
    int fd = -1;
    EntryInfo info;
    FileSafety safety = FileSafety::per_policy;
};

// What the file system holding a target root reports, for the pre-flight checks.
struct FileSystemSpace {
    std::uint64_t bytes_free = 0;  // free for unprivileged users (statvfs f_bavail * f_frsize)
    std::uint64_t inodes_free = 0; // f_favail
    bool inodes_known = true;      // false where the file system reports no inode counts
};

// Whether a target root is a mount point, as far as the transport can tell.
enum class RootMount {
    unknown, // the transport cannot tell (SFTP)
    no,      // a plain directory on its parent's file system
    yes,
};

struct FileSystemInfo {
    FileSystemSpace space;
    RootMount root_mount = RootMount::unknown;
};

// What a SQLite database on the target holds, read where it lives (see
// engine/database_inspector.hpp, which this mirrors for a remote target).
struct DatabaseDigest {
    std::string digest;                   // "sqlite:<32 hex digits>"
    std::optional<std::string> integrity; // PRAGMA integrity_check's answer, when asked for
};

struct PutResult {
    std::uint64_t bytes_written = 0; // file data written on the target
    bool delta = false;              // true when only differences were written
};

class Transport {
public:
    virtual ~Transport() = default;

    // Returns a short description for logs, e.g. "local:/mnt/mirror".
    virtual std::string describe() const = 0;

    // Checks that the target root is still there (and is the directory first opened; a local
    // target follows a directory made again on the same file system). Returns not_found when
    // it vanished, was unmounted or was replaced by another file system.
    virtual base::Status check_root() = 0;

    // Returns the entry at `path` (symlinks not followed), or nullopt when absent.
    virtual base::Result<std::optional<EntryInfo>> stat(std::string_view path) = 0;

    // Returns what stat() returns for each of `paths`, in the same order. A transport with a
    // network in between sends every request before awaiting any answer, so the whole list
    // costs about one round trip instead of one per path.
    virtual std::vector<base::Result<std::optional<EntryInfo>>>
    stat_many(const std::vector<std::string>& paths) {
        std::vector<base::Result<std::optional<EntryInfo>>> results;
        results.reserve(paths.size());
        for (const auto& path : paths)
            results.push_back(stat(path));
        return results;
    }

    // Returns the entries of directory `path`. The transport's own temporary files are hidden
    // (and stale ones left by a crash are removed).
    virtual base::Result<std::vector<DirEntry>> list_directory(std::string_view path) = 0;

    // Makes `path` a directory (replacing a non-directory there) with `info`'s mode.
    // Success when it already is one.
    virtual base::Status make_directory(std::string_view path, const EntryInfo& info) = 0;

    // Makes `path` a regular file with `source`'s content and attributes, never showing a
    // partly written file under the final name (unless the transport was set up for in-place
    // updates). `existing` is what the caller knows to be at `path` now, if anything.
    virtual base::Result<PutResult> put_file(std::string_view path, const SourceFile& source,
                                             const std::optional<EntryInfo>& existing) = 0;

    // Makes `path` a symlink to `info.link_target` with `info`'s times (and owner when kept).
    virtual base::Status put_symlink(std::string_view path, const EntryInfo& info) = 0;

    // Renames `from` to `to`, replacing whatever is at `to` and creating missing parents.
    // Returns not_found when `from` does not exist.
    virtual base::Status rename(std::string_view from, std::string_view to) = 0;

    // Removes `path`, recursively for a directory. Absent is success.
    virtual base::Status remove(std::string_view path) = 0;

    // Applies `info`'s attributes (per the transport's AttributePolicy) to `path`.
    virtual base::Status set_attributes(std::string_view path, const EntryInfo& info) = 0;

    // Makes everything written so far durable (per the durability policy).
    virtual base::Status flush() = 0;

    // Returns the digest of regular file `path`'s content, computed where the file lives (for
    // a remote target, by the agent, so the data never crosses the network); not_found when it
    // is absent or not a regular file. Read-only. The default says the transport cannot (an
    // error with native_code ENOTSUP; the SFTP fallback of an SSH target is such a transport).
    virtual base::Result<ContentDigest> hash_file(std::string_view path) {
        return std::unexpected(not_supported("hash files such as /" + std::string(path)));
    }

    // Returns the content of the regular file `path`, for small metadata files such as the
    // `.fsmirror` marker: not_found when it is absent or not a regular file, limit_reached when
    // it is larger than `max_bytes`. Read-only. The default: ENOTSUP, as hash_file().
    virtual base::Result<std::string> read_small_file(std::string_view path,
                                                      std::size_t max_bytes) {
        (void)max_bytes;
        return std::unexpected(not_supported("read files such as /" + std::string(path)));
    }

    // Returns the free space of the file system holding the root and whether the root is a
    // mount point, read where the target lives. The default: ENOTSUP, as hash_file().
    virtual base::Result<FileSystemInfo> file_system() {
        return std::unexpected(not_supported("read its file system's free space"));
    }

    // Returns the logical digest of the SQLite database `path` (and PRAGMA integrity_check's
    // answer with `integrity_check`), read where the target lives by a helper process, as
    // verify reads a local mirror's: not_found when it is gone or no database, the helper's
    // error otherwise. The default: ENOTSUP (the SFTP fallback cannot run anything remotely).
    virtual base::Result<DatabaseDigest> inspect_database(std::string_view path,
                                                          bool integrity_check) {
        (void)integrity_check;
        return std::unexpected(
            not_supported("read SQLite databases such as /" + std::string(path)));
    }

    // Returns the resolution of the modification times this target stores, in nanoseconds (1
    // for a local file system; 1e9 over SFTP, which carries whole seconds). The engine compares
    // times at this resolution, so a target that cannot store nanoseconds is not rewritten on
    // every comparison.
    virtual std::int64_t mtime_granularity_ns() const { return 1; }

protected:
    // The error of an operation this transport cannot carry out (native_code ENOTSUP), saying
    // what over SSH it needs.
    base::Error not_supported(const std::string& what) const {
        return base::Error{base::ErrorKind::fatal,
                           describe() + " cannot " + what +
                               " (not supported by this transport; over SSH it needs fsmirror "
                               "on the remote, not the SFTP fallback)",
                           ENOTSUP};
    }
};

} // namespace fsmirror::transport
