#pragma once
// What the engine knows about SQLite's files without ever opening a connection: the database
// header, and the companion files (-wal, -shm, -journal) that live beside a database. Pure
// functions over names and bytes, so the daemon can classify files while it holds no SQLite
// connection (see docs/sqlite.md for why it must never hold one).

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace fsmirror::engine {

// How many leading bytes of a file classify_header() needs.
inline constexpr std::size_t k_sqlite_header_bytes = 20;

enum class DatabaseFormat {
    not_database, // no "SQLite format 3\0" magic
    rollback,     // a rollback-journal database (journal_mode DELETE, TRUNCATE, PERSIST, ...)
    wal,          // write-ahead-log mode: header bytes 18 and 19 are 2
};

// Returns the format the first bytes of a file announce. Fewer than k_sqlite_header_bytes
// bytes (an empty or truncated file) is never a database.
DatabaseFormat classify_header(std::span<const unsigned char> first_bytes);

enum class CompanionKind {
    wal,     // "<db>-wal": the write-ahead log; holds committed transactions
    shm,     // "<db>-shm": the WAL index in shared memory; rebuilt by readers, no data
    journal, // "<db>-journal": the rollback journal of a transaction in progress
};

struct Companion {
    std::string database; // the database's path, the companion's path without its suffix
    CompanionKind kind;
};

// Returns the database `path` would be a companion of ("a/x.db-wal" -> {"a/x.db", wal}), or
// nullopt when its name has no companion suffix or nothing before it. Looks at the name only:
// whether that database exists and is one is the caller's question.
std::optional<Companion> companion_of(std::string_view path);

// Returns `database` + the suffix of `kind`.
std::string companion_path(std::string_view database, CompanionKind kind);

// Every companion kind, in the order they are removed from a target.
inline constexpr CompanionKind k_companion_kinds[] = {CompanionKind::wal, CompanionKind::shm,
                                                      CompanionKind::journal};

} // namespace fsmirror::engine
