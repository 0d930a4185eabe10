#pragma once
// Reads what a SQLite database holds, for `verify`: a digest of its logical content (schema
// and rows, not pages), and optionally the result of PRAGMA integrity_check. A database
// mirrored as snapshots never matches its live source byte for byte (the source's committed
// state is partly in its -wal), so verify compares the two logically. As with snapshots, the
// connection lives in a helper process (`fsmirror sqlite-digest`), never in the caller.

#include "base/error.hpp"
#include "engine/snapshot_taker.hpp"

#include <memory>
#include <optional>
#include <string>

namespace fsmirror::engine {

enum class DatabaseAccess {
    live,      // the source: a shared read transaction, taking part in SQLite's locking
    immutable, // a mirror's copy: a self-contained file replaced only by rename
};

struct DatabaseContent {
    std::string digest;                   // "sqlite:<32 hex digits>"
    std::optional<std::string> integrity; // "ok" or the problems; set when asked for
};

class DatabaseInspector {
public:
    virtual ~DatabaseInspector() = default;

    // Reads database `name` in the directory `dir_fd`. Returns not_found when it is gone or
    // not a database, transient when it stayed locked, and the helper's message otherwise.
    virtual base::Result<DatabaseContent> inspect(int dir_fd, const std::string& name,
                                                  DatabaseAccess access, bool integrity_check) = 0;
};

// Returns the inspector that runs `program sqlite-digest` for each database.
std::unique_ptr<DatabaseInspector> make_helper_database_inspector(HelperOptions options);

} // namespace fsmirror::engine
