#pragma once
// Compares a source tree with its mirror: the entry set, types, sizes, mtimes, modes, owners
// (as the attribute policy carries them) and symlink targets, and with Contents::checksum the
// data of files whose metadata agree. The target is read only through the Transport (hashes
// included), so the same comparison serves a remote target whose agent hashes locally.
// Used by `fsmirror verify` and by the session's periodic drift repair.

#include "base/error.hpp"
#include "engine/database_inspector.hpp"
#include "engine/exclude_filter.hpp"
#include "engine/source_tree.hpp"
#include "transport/transport.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::engine {

enum class DifferenceKind {
    missing,        // on the source, not on the target
    extra,          // on the target, not on the source
    type,           // e.g. a file on one side, a directory on the other
    size,           // regular files of different sizes
    content,        // same size (and mtime), different data (--checksum only)
    mode,           // permission bits
    mtime,          // modification times (nanoseconds)
    owner,          // uid/gid, when owners are carried over
    symlink_target, // symlinks pointing at different paths
    unreadable,     // an entry could not be read on one side: the comparison is incomplete
    integrity,      // a mirrored SQLite database fails PRAGMA integrity_check
};

struct Difference {
    DifferenceKind kind;
    std::string path;   // relative, "" for the root
    std::string source; // the source's value as text ("" when not applicable)
    std::string target; // the target's value
};

enum class Contents {
    metadata, // what the daemon compares before it transfers: quick
    checksum, // also hash files whose metadata agree (XXH3-128), in parallel
};

// How SQLite databases (found by their header) and their -wal/-shm/-journal are compared
// when the sync mirrors them as snapshots.
enum class Databases {
    as_files, // like any other file (snapshots are off)
    skipped,  // left out: the snapshot machinery owns them (the daemon's drift repair)
    logical,  // by content through `inspector`: schema and rows, not bytes (verify)
};

struct TreeCompareOptions {
    transport::AttributePolicy attributes; // which attributes count as differences
    Contents contents = Contents::metadata;
    unsigned workers = 4; // parallel hashing
    Databases databases = Databases::as_files;
    DatabaseInspector* inspector = nullptr; // for Databases::logical; not owned
    bool integrity_check = false;           // also PRAGMA integrity_check each mirrored database
    // The target's directory when it is local, where `inspector` reads its databases. Without
    // it the target's copies are read through Transport::inspect_database (the agent runs the
    // same helper on the remote); a transport that cannot (SFTP) leaves them in
    // databases_not_compared.
    std::optional<std::filesystem::path> local_target;
};

struct TreeComparison {
    std::vector<Difference> differences; // sorted by path
    std::uint64_t entries = 0;           // entries looked at on the source side
    std::uint64_t files_hashed = 0;
    std::uint64_t bytes_hashed = 0; // per side
    std::uint64_t databases_compared = 0;
    std::uint64_t databases_not_compared = 0; // Databases::logical over the SFTP fallback
};

// Compares `source` (opened) with `target`. Excluded paths and the target's `.fsmirror`
// marker are skipped on both sides; a directory missing or extra is one difference, not one
// per entry below it. Entries that vanish while compared are skipped. Returns an error only
// when the roots cannot be listed.
base::Result<TreeComparison> compare_trees(const SourceTree& source, transport::Transport& target,
                                           const ExcludeFilter& excludes,
                                           const TreeCompareOptions& options);

// Returns the kind's name as printed: "missing", "extra", "type", ..., "symlink", "unreadable".
const char* to_string(DifferenceKind kind);

// Returns one line, e.g. "size /a/b.txt: 12 on the source, 7 on the target" or
// "missing /dir (directory)".
std::string format_difference(const Difference& difference);

} // namespace fsmirror::engine
