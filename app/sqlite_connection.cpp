#include "app/sqlite_connection.hpp"

#include "engine/snapshot_taker.hpp"
#include "engine/sqlite_files.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

namespace fsmirror::app {

namespace {

// Maps an SQLite result code onto the helper's exit statuses: the one place for that mapping.
int status_for_sqlite(int code) {
    switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return engine::k_snapshot_busy;
    case SQLITE_FULL:
        return engine::k_snapshot_no_space;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return engine::k_snapshot_permission;
    default:
        return engine::k_snapshot_failed;
    }
}

// What an operator can do about the failures that have a usual cause.
const char* hint_for_sqlite(int code) {
    switch (code) {
    case SQLITE_CANTOPEN:
        return "; a WAL database needs its -shm: fsmirror must be allowed to create it in the "
               "database's directory, as every SQLite reader must";
    case SQLITE_READONLY_ROLLBACK:
        return "; a crashed transaction left a hot -journal: open the database once with its "
               "application to roll it back (fsmirror never writes to the source)";
    case SQLITE_READONLY_CANTINIT:
        return "; the -shm cannot be initialised read-only: let fsmirror write the database's "
               "directory, or keep the database open in its application";
    default:
        return "";
    }
}

} // namespace

Failure sqlite_failure(sqlite3* db, int code, const std::string& what) {
    // The backup API reports on the destination's connection, not the source's.
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : "";
    if (detail.empty() || detail == "not an error")
        detail = sqlite3_errstr(code);
    return Failure{
        status_for_sqlite(code),
        fmt::format("{}: {} (SQLite code {}){}", what, detail, code, hint_for_sqlite(code)), code};
}

std::string plain_name(const std::string& path) {
    return path.starts_with('/') ? path : "./" + path;
}

std::string uri_for(const std::string& path, const char* query) {
    std::string uri = "file:";
    for (char c : path) {
        if (c == '%' || c == '?' || c == '#')
            uri += fmt::format("%{:02X}", static_cast<unsigned char>(c));
        else
            uri += c;
    }
    return uri + "?" + query;
}

std::optional<Failure> check_header(const std::string& database) {
    const int fd = ::open(database.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ENOENT || err == ELOOP || err == ENOTDIR)
            return Failure{engine::k_snapshot_not_database,
                           fmt::format("{}: {}", database, std::strerror(err))};
        return Failure{err == EACCES || err == EPERM ? engine::k_snapshot_permission
                                                     : engine::k_snapshot_failed,
                       fmt::format("open {}: {}", database, std::strerror(err))};
    }
    std::array<unsigned char, engine::k_sqlite_header_bytes> header{};
    const ssize_t got = ::pread(fd, header.data(), header.size(), 0);
    ::close(fd);
    if (got != static_cast<ssize_t>(header.size()) ||
        engine::classify_header(header) == engine::DatabaseFormat::not_database)
        return Failure{engine::k_snapshot_not_database,
                       database + " is not (or no longer) an SQLite database"};
    return std::nullopt;
}

int poll_every_millisecond(void* timeout_ms, int tries) {
    if (tries >= *static_cast<int*>(timeout_ms))
        return 0;
    ::usleep(1000);
    return 1;
}

std::optional<int> parse_milliseconds(const std::string& text) {
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < 0)
        return std::nullopt;
    return value;
}

} // namespace fsmirror::app
