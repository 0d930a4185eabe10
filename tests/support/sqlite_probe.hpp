#pragma once
// Looks into an SQLite database the way a reader of the mirror would, for tests: opens it,
// runs PRAGMA integrity_check, and reads the counter that tests/helpers/sqlite_writer bumps.

#include <filesystem>
#include <optional>
#include <string>

namespace fsmirror::test_support {

enum class ProbeAccess {
    immutable, // the file alone, read-only, no locks, never creates -wal/-shm: for the target,
               // which the test must never write
    shared,    // an ordinary read-only connection: for the live source
};

struct DatabaseProbe {
    bool opened = false;
    std::string error;     // why it could not be opened or read ("" when fine)
    std::string integrity; // what PRAGMA integrity_check said, rows joined by "; "
    std::optional<long long> counter;

    bool ok() const { return opened && error.empty() && integrity == "ok" && counter; }
};

// Returns what `path` shows; never throws.
DatabaseProbe probe_database(const std::filesystem::path& path, ProbeAccess access);

// Returns a one-line description for failure messages.
std::string describe(const DatabaseProbe& probe);

} // namespace fsmirror::test_support
