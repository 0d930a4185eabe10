// `fsmirror sqlite-digest`: the helper process `verify` runs to read one SQLite database's
// logical content. Like `fsmirror sqlite-snapshot`, it exists so that the process comparing
// files never holds an SQLite connection (the POSIX lock trap: docs/sqlite.md).
//
// The digest covers the schema and every row of every table, in a defined order, so a live
// database and the snapshot mirrored from it digest alike exactly when they hold the same
// committed content, whatever their pages, free lists or -wal look like.

#include "app/commands.hpp"
#include "app/sqlite_connection.hpp"
#include "engine/snapshot_taker.hpp"

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <xxhash.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_help = R"(NAME
    fsmirror sqlite-digest - internal: digest one SQLite database's content

SYNOPSIS
    fsmirror sqlite-digest --database DB [--immutable] [--integrity-check]
                           [--busy-timeout-ms N]

DESCRIPTION
    Run by `fsmirror verify` in a child process for each database; safe to run by hand.
    Opens DB read-only (never writes or checkpoints it) and, inside one read transaction,
    hashes its schema and the rows of every table in a defined order. Prints
    "digest sqlite:<hex>", and with --integrity-check "integrity ok" or the problems
    PRAGMA integrity_check reports. DB must not be a symlink.

OPTIONS
    --database DB          the database
    --immutable            open it with immutable=1 (a mirror's copy, replaced only by
                           rename; no locks, no -shm)
    --integrity-check      also run PRAGMA integrity_check
    --busy-timeout-ms N    how long to wait for a lock, default 2000

EXIT STATUS
    As `fsmirror sqlite-snapshot`: 0 done; 1 failed; 2 usage; 3 the database stayed
    locked; 4 not an SQLite database; 6 permission denied
)";

constexpr int k_default_busy_timeout_ms = 2000;

// Feeds one typed value into the hash: a type tag, then a fixed-size or length-prefixed body,
// so that no two different row sequences can produce the same byte stream.
void hash_value(XXH3_state_t* state, sqlite3_stmt* row, int column) {
    const int type = sqlite3_column_type(row, column);
    const unsigned char tag = static_cast<unsigned char>(type);
    XXH3_128bits_update(state, &tag, 1);
    switch (type) {
    case SQLITE_INTEGER: {
        const sqlite3_int64 value = sqlite3_column_int64(row, column);
        XXH3_128bits_update(state, &value, sizeof value);
        break;
    }
    case SQLITE_FLOAT: {
        const double value = sqlite3_column_double(row, column);
        XXH3_128bits_update(state, &value, sizeof value);
        break;
    }
    case SQLITE_TEXT:
    case SQLITE_BLOB: {
        const void* data = type == SQLITE_TEXT
                               ? static_cast<const void*>(sqlite3_column_text(row, column))
                               : sqlite3_column_blob(row, column);
        const std::uint64_t size = static_cast<std::uint64_t>(sqlite3_column_bytes(row, column));
        XXH3_128bits_update(state, &size, sizeof size);
        if (size > 0)
            XXH3_128bits_update(state, data, static_cast<std::size_t>(size));
        break;
    }
    default: // NULL: the tag alone
        break;
    }
}

// Hashes every row `sql` returns. Returns the failure, if any.
std::optional<Failure> hash_query(sqlite3* db, XXH3_state_t* state, const std::string& sql,
                                  const std::string& what) {
    sqlite3_stmt* statement = nullptr;
    int code = sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr);
    if (code != SQLITE_OK)
        return sqlite_failure(db, code, what);
    const int columns = sqlite3_column_count(statement);
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
        const unsigned char row_mark = 0xff;
        XXH3_128bits_update(state, &row_mark, 1);
        for (int i = 0; i < columns; ++i)
            hash_value(state, statement, i);
    }
    sqlite3_finalize(statement);
    if (code != SQLITE_DONE)
        return sqlite_failure(db, code, what);
    return std::nullopt;
}

std::string quoted_identifier(const std::string& name) {
    std::string out = "\"";
    for (char c : name)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

struct TableInfo {
    std::string name;
    int columns = 0;
};

// The ordinary tables (virtual tables are covered by their shadow tables), by name.
std::optional<Failure> list_tables(sqlite3* db, std::vector<TableInfo>& tables) {
    sqlite3_stmt* statement = nullptr;
    const char* sql = "SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE "
                      "'CREATE VIRTUAL TABLE%' ORDER BY name";
    int code = sqlite3_prepare_v2(db, sql, -1, &statement, nullptr);
    if (code != SQLITE_OK)
        return sqlite_failure(db, code, "list the tables");
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        tables.push_back(TableInfo{text != nullptr ? text : "", 0});
    }
    sqlite3_finalize(statement);
    if (code != SQLITE_DONE)
        return sqlite_failure(db, code, "list the tables");
    for (auto& table : tables) {
        sqlite3_stmt* probe = nullptr;
        const std::string select = "SELECT * FROM " + quoted_identifier(table.name);
        code = sqlite3_prepare_v2(db, select.c_str(), -1, &probe, nullptr);
        if (code != SQLITE_OK)
            return sqlite_failure(db, code, "read table " + table.name);
        table.columns = sqlite3_column_count(probe);
        sqlite3_finalize(probe);
    }
    return std::nullopt;
}

// Returns "sqlite:<hex>" over the schema and every table's rows, ordered by all their columns
// (a total order whatever the table's keys; equal rows are interchangeable).
std::optional<Failure> digest(sqlite3* db, std::string& out) {
    XXH3_state_t* state = XXH3_createState();
    XXH3_128bits_reset(state);
    struct Release {
        XXH3_state_t* state;
        ~Release() { XXH3_freeState(state); }
    } release{state};
    if (auto failed = hash_query(db, state,
                                 "SELECT type, name, tbl_name, sql FROM sqlite_schema "
                                 "ORDER BY type, name",
                                 "read the schema"))
        return failed;
    std::vector<TableInfo> tables;
    if (auto failed = list_tables(db, tables))
        return failed;
    for (const auto& table : tables) {
        std::string order;
        for (int i = 1; i <= table.columns; ++i)
            order += (i > 1 ? ", " : "") + std::to_string(i);
        const std::string sql = "SELECT * FROM " + quoted_identifier(table.name) +
                                (order.empty() ? "" : " ORDER BY " + order);
        if (auto failed = hash_query(db, state, sql, "read table " + table.name))
            return failed;
    }
    const XXH128_hash_t hash = XXH3_128bits_digest(state);
    out = fmt::format("sqlite:{:016x}{:016x}", hash.high64, hash.low64);
    return std::nullopt;
}

std::optional<Failure> integrity_check(sqlite3* db, std::string& out) {
    sqlite3_stmt* statement = nullptr;
    int code = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &statement, nullptr);
    if (code != SQLITE_OK)
        return sqlite_failure(db, code, "run PRAGMA integrity_check");
    std::string problems;
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        const std::string row = text != nullptr ? text : "";
        if (row != "ok" && problems.size() < 500)
            problems += (problems.empty() ? "" : "; ") + row;
    }
    sqlite3_finalize(statement);
    if (code != SQLITE_DONE)
        return sqlite_failure(db, code, "run PRAGMA integrity_check");
    out = problems.empty() ? "ok" : problems;
    return std::nullopt;
}

struct DigestRequest {
    std::string database;
    bool immutable = false;
    bool integrity = false;
    int busy_timeout_ms = k_default_busy_timeout_ms;
};

std::optional<Failure> run(const DigestRequest& request) {
    if (auto failed = check_header(request.database))
        return failed;
    Connection db;
    const std::string name =
        request.immutable ? uri_for(request.database, "immutable=1") : plain_name(request.database);
    const int uri = request.immutable ? SQLITE_OPEN_URI : 0;
    if (auto failed = db.open(name, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | uri,
                              "open " + request.database))
        return failed;
    int busy = request.busy_timeout_ms;
    sqlite3_busy_handler(db.get(), poll_every_millisecond, &busy);
    // One read transaction: the digest and the check see one committed state.
    if (auto failed = db.exec("BEGIN", "begin a read transaction"))
        return failed;
    std::string hash;
    if (auto failed = digest(db.get(), hash))
        return failed;
    std::printf("digest %s\n", hash.c_str());
    if (request.integrity) {
        std::string result;
        if (auto failed = integrity_check(db.get(), result))
            return failed;
        std::printf("integrity %s\n", result.c_str());
    }
    if (auto failed = db.exec("COMMIT", "end the read transaction"))
        return failed;
    return db.close("close " + request.database);
}

} // namespace

int command_sqlite_digest(const CommandContext& context) {
    DigestRequest request;
    const auto& args = context.args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (flag == "-h" || flag == "--help") {
            std::fputs(k_help, stdout);
            return k_exit_ok;
        }
        if (flag == "--immutable") {
            request.immutable = true;
            continue;
        }
        if (flag == "--integrity-check") {
            request.integrity = true;
            continue;
        }
        if (i + 1 >= args.size() || (flag != "--database" && flag != "--busy-timeout-ms")) {
            std::fprintf(stderr, "fsmirror sqlite-digest: unknown option or missing value: %s\n",
                         flag.c_str());
            return engine::k_snapshot_usage;
        }
        const std::string& value = args[++i];
        if (flag == "--database") {
            request.database = value;
        } else if (auto ms = parse_milliseconds(value)) {
            request.busy_timeout_ms = *ms;
        } else {
            std::fprintf(stderr,
                         "fsmirror sqlite-digest: --busy-timeout-ms takes a number of "
                         "milliseconds, got '%s'\n",
                         value.c_str());
            return engine::k_snapshot_usage;
        }
    }
    if (request.database.empty()) {
        std::fputs("fsmirror sqlite-digest: --database DB is required\n", stderr);
        return engine::k_snapshot_usage;
    }
    if (auto failed = run(request)) {
        std::fflush(stdout);
        std::fprintf(stderr, "%s\n", failed->message.c_str());
        return failed->status;
    }
    return k_exit_ok;
}

} // namespace fsmirror::app
