#pragma once
// Takes a consistent snapshot of a live SQLite database into a file. The daemon never opens an
// SQLite connection itself: closing any descriptor on a database drops every POSIX lock the
// process holds on it, so a process that both copies files and holds a connection can corrupt
// the databases it reads (https://www.sqlite.org/howtocorrupt.html section 2.2). The real
// implementation runs `fsmirror sqlite-snapshot` as a short-lived child process; tests use
// fakes.

#include "base/error.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

namespace fsmirror::engine {

// Exit statuses of `fsmirror sqlite-snapshot`, the protocol between the engine and its helper.
// The helper writes one line saying why on stderr when it does not exit with k_snapshot_ok.
inline constexpr int k_snapshot_ok = 0;
inline constexpr int k_snapshot_failed = 1;       // fatal: corrupt source, failed check, IO error
inline constexpr int k_snapshot_usage = 2;        // bad arguments (a bug in the caller)
inline constexpr int k_snapshot_busy = 3;         // locked longer than the busy timeout: retry
inline constexpr int k_snapshot_not_database = 4; // gone, or no longer an SQLite database
inline constexpr int k_snapshot_no_space = 5;     // the output's file system is full
inline constexpr int k_snapshot_permission = 6;   // the database (or a companion) is unreadable

// Returns the error kind the engine gives a helper exit status (never called with ok).
base::ErrorKind error_kind_for_snapshot_status(int status);

class SnapshotTaker {
public:
    virtual ~SnapshotTaker() = default;

    // Writes a consistent copy of database `name` in the open directory `dir_fd` (an O_PATH
    // descriptor is enough) to `output`, which must not exist, and checks it. Never writes to
    // or checkpoints the database. Returns transient when it stayed locked, not_found when it
    // is gone or no longer a database, and the helper's message with any other kind.
    virtual base::Status take(int dir_fd, const std::string& name,
                              const std::filesystem::path& output) = 0;
};

struct HelperOptions {
    // The fsmirror binary to run; /proc/self/exe is this very binary, even after a package
    // upgrade replaced the file.
    std::filesystem::path program = "/proc/self/exe";
    std::chrono::milliseconds busy_timeout{2000}; // the helper's wait for a lock
    std::chrono::seconds time_limit{600};         // killed past this (a hung file system)
};

// Returns the taker that runs `program sqlite-snapshot` for every snapshot.
std::unique_ptr<SnapshotTaker> make_helper_snapshot_taker(HelperOptions options);

} // namespace fsmirror::engine
