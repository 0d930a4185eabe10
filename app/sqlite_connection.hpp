#pragma once
// What the helper commands that hold SQLite connections share (`fsmirror sqlite-snapshot`,
// `fsmirror sqlite-digest`): an RAII connection, the mapping of SQLite's result codes onto the
// helpers' exit statuses (engine/snapshot_taker.hpp), safe names for SQLite, and the header
// check made before any connection exists.

#include <optional>
#include <string>

#include <sqlite3.h>

namespace fsmirror::app {

// Why a step failed, and the exit status that tells the engine.
struct Failure {
    int status;
    std::string message;
    int sqlite_code = 0; // SQLite's extended result code, when SQLite said it
};

// Returns the failure for SQLite result `code` while doing `what`, with SQLite's message and a
// hint for the failures that have a usual cause.
Failure sqlite_failure(sqlite3* db, int code, const std::string& what);

// Returns `path` in a form SQLite never reads as a URI (Debian's SQLite reads "file:..." names
// as URIs even without SQLITE_OPEN_URI).
std::string plain_name(const std::string& path);

// Returns `path` as an SQLite URI filename with `query`; the characters that URIs give a
// meaning are escaped.
std::string uri_for(const std::string& path, const char* query);

// An SQLite connection closed on every path.
class Connection {
public:
    Connection() = default;
    ~Connection() {
        if (m_db != nullptr)
            sqlite3_close_v2(m_db);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Opens `name` with `flags`. Returns the failure, if any.
    std::optional<Failure> open(const std::string& name, int flags, const std::string& what) {
        const int code =
            sqlite3_open_v2(name.c_str(), &m_db, flags | SQLITE_OPEN_EXRESCODE, nullptr);
        if (code != SQLITE_OK)
            return sqlite_failure(m_db, code, what);
        return std::nullopt;
    }

    std::optional<Failure> exec(const char* sql, const std::string& what) {
        const int code = sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr);
        if (code != SQLITE_OK)
            return sqlite_failure(m_db, code, what);
        return std::nullopt;
    }

    // Closes now; returns the failure, if any (a close that fails leaves nothing to retry).
    std::optional<Failure> close(const std::string& what) {
        const int code = sqlite3_close(m_db);
        if (code != SQLITE_OK)
            return sqlite_failure(m_db, code, what);
        m_db = nullptr;
        return std::nullopt;
    }

    sqlite3* get() const { return m_db; }

private:
    sqlite3* m_db = nullptr;
};

// Checks the header before SQLite is involved: a file that is not (or no longer) a database is
// the engine's "changed meanwhile", not a corrupt database. This raw read happens before the
// process opens any connection, so closing its descriptor cannot drop a lock (section 2.2 of
// https://www.sqlite.org/howtocorrupt.html).
std::optional<Failure> check_header(const std::string& database);

// A busy handler that polls for a lock every millisecond, `*timeout_ms` times: SQLite's own
// sleeps up to 100 ms between tries, and a rollback-journal database committing many times a
// second is unlocked only in the short gaps between its transactions.
int poll_every_millisecond(void* timeout_ms, int tries);

// Parses a non-negative number of milliseconds.
std::optional<int> parse_milliseconds(const std::string& text);

} // namespace fsmirror::app
