// `fsmirror verify` on SQLite databases mirrored as snapshots: compared by content (a live
// WAL database and its snapshot never match byte for byte), companions never reported, a
// changed row found, and with --sqlite a damaged index found by PRAGMA integrity_check; on a
// local target and, through the agent, on an SSH target (real sshd on loopback).

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/safety_support.hpp"
#include "tests/integration/ssh_fixture.hpp"
#include "tests/support/file_ops.hpp"

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <sqlite3.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using namespace fsmirror::integration;

namespace {

// Runs `sql` on the database at `path` (the test process is not fsmirror: it may hold
// connections).
void execute(const fs::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    INFO("sqlite: " << (error != nullptr ? error : "ok"));
    sqlite3_free(error);
    sqlite3_close(db);
    REQUIRE(code == SQLITE_OK);
}

// A WAL database whose last transactions are still in its -wal, held open by `keeper` so the
// -wal is not checkpointed away: the live state a mirror sees.
struct LiveDatabase {
    sqlite3* keeper = nullptr;
    explicit LiveDatabase(const fs::path& path) {
        REQUIRE(sqlite3_open(path.c_str(), &keeper) == SQLITE_OK);
        REQUIRE(sqlite3_exec(keeper,
                             "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
                             "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
                             "CREATE INDEX tv ON t(v);"
                             "INSERT INTO t(v) VALUES ('alpha'),('bravo'),('charlie'),"
                             "('delta'),('echo');",
                             nullptr, nullptr, nullptr) == SQLITE_OK);
    }
    ~LiveDatabase() { sqlite3_close(keeper); }
    LiveDatabase(const LiveDatabase&) = delete;
    LiveDatabase& operator=(const LiveDatabase&) = delete;
};

void sync(MirrorFixture& mirror) {
    REQUIRE(mirror.run_to_completion({"sync", "--source", mirror.source().string(), "--target",
                                      mirror.target().string()}) == 0);
}

// Damages index tv of the copy at `path` only: the rows still read (by rowid), so the content
// digests agree, but the index no longer matches them.
void damage_index(const fs::path& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* query = nullptr;
    REQUIRE(sqlite3_prepare_v2(db,
                               "SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM "
                               "sqlite_schema WHERE name = 'tv'",
                               -1, &query, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(query) == SQLITE_ROW);
    const auto root = sqlite3_column_int64(query, 0);
    const auto page_size = sqlite3_column_int64(query, 1);
    sqlite3_finalize(query);
    sqlite3_close(db);
    std::string bytes = read_file(path);
    const auto page = static_cast<std::size_t>((root - 1) * page_size);
    const auto at = bytes.find("alpha", page);
    REQUIRE(at != std::string::npos);
    REQUIRE(at < page + static_cast<std::size_t>(page_size));
    bytes.replace(at, 5, "ALPHA");
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

} // namespace

TEST_CASE("verify compares a mirrored live SQLite database by content, not bytes",
          "[integration][sqlite][verify]") {
    MirrorFixture mirror;
    LiveDatabase live(mirror.source() / "app.db");
    REQUIRE(fs::file_size(mirror.source() / "app.db-wal") > 0);
    sync(mirror);
    REQUIRE(fs::exists(mirror.target() / "app.db"));
    CHECK_FALSE(fs::exists(mirror.target() / "app.db-wal"));
    // Byte for byte they differ: the source's rows are in its -wal.
    CHECK(read_file(mirror.source() / "app.db") != read_file(mirror.target() / "app.db"));

    auto outcome = run_verify(mirror, {"--checksum", "--sqlite"});
    INFO(outcome.log);
    CHECK(outcome.status == 0);
    CHECK_THAT(outcome.log, Catch::Contains("1 SQLite database compared by content") &&
                                Catch::Contains(", 0 differences"));

    // A committed change the mirror has not seen is a content difference.
    execute(mirror.source() / "app.db", "UPDATE t SET v = 'foxtrot' WHERE id = 2;");
    outcome = run_verify(mirror);
    INFO(outcome.log);
    CHECK(outcome.status == 1);
    CHECK_THAT(outcome.log, Catch::Contains("content /app.db: sqlite:"));

    // Mirrored again, they agree again.
    sync(mirror);
    outcome = run_verify(mirror);
    INFO(outcome.log);
    CHECK(outcome.status == 0);

    // With --no-sqlite the database is an ordinary file again, and its companions too.
    outcome = run_verify(mirror, {"--no-sqlite"});
    INFO(outcome.log);
    CHECK(outcome.status == 1);
    CHECK_THAT(outcome.log, Catch::Contains("missing /app.db-wal"));
}

TEST_CASE("verify --sqlite reports a mirrored database that fails integrity_check",
          "[integration][sqlite][verify]") {
    MirrorFixture mirror;
    { LiveDatabase live(mirror.source() / "app.db"); }
    sync(mirror);
    // The snapshot helper opened the closed WAL database, which makes and removes its -wal
    // and -shm: the source directory's mtime moved after it was mirrored. Not the subject here.
    const std::vector<std::string> no_times = {"--no-times"};
    REQUIRE(run_verify(mirror, no_times).status == 0);

    damage_index(mirror.target() / "app.db");

    auto outcome = run_verify(mirror, no_times);
    INFO(outcome.log);
    CHECK(outcome.status == 0); // without --sqlite: the content is the same

    outcome = run_verify(mirror, {"--no-times", "--sqlite"});
    INFO(outcome.log);
    CHECK(outcome.status == 1);
    CHECK_THAT(outcome.log,
               Catch::Contains("integrity /app.db: PRAGMA integrity_check on the target says: "
                               "row 1 missing from index tv"));
}

TEST_CASE("verify over SSH compares databases by content on the remote and runs integrity_check "
          "there",
          "[integration][sqlite][verify][ssh]") {
    MirrorFixture mirror;
    SshdServer sshd(sshd_directory(mirror));
    LiveDatabase live(mirror.source() / "app.db");
    const auto over_ssh = [&](std::vector<std::string> command,
                              const std::string& agent = fsmirror_binary().string()) {
        return mirror.run_with_output(
            concat(concat(std::move(command), {"--source", mirror.source().string()}),
                   ssh_flags(sshd, mirror.target(), agent)));
    };
    REQUIRE(over_ssh({"sync"}).status == 0);
    REQUIRE(fs::exists(mirror.target() / "app.db"));
    CHECK(read_file(mirror.source() / "app.db") != read_file(mirror.target() / "app.db"));

    auto outcome = over_ssh({"verify", "--sqlite"});
    INFO(outcome.log);
    CHECK(outcome.status == 0);
    CHECK_THAT(outcome.log, Catch::Contains("1 SQLite database compared by content") &&
                                Catch::Contains(", 0 differences"));

    // A committed change the mirror has not seen is a content difference, found remotely.
    execute(mirror.source() / "app.db", "UPDATE t SET v = 'foxtrot' WHERE id = 2;");
    outcome = over_ssh({"verify"});
    INFO(outcome.log);
    CHECK(outcome.status == 1);
    CHECK_THAT(outcome.log, Catch::Contains("content /app.db: sqlite:"));

    REQUIRE(over_ssh({"sync"}).status == 0);
    damage_index(mirror.target() / "app.db");
    outcome = over_ssh({"verify", "--no-times"});
    INFO(outcome.log);
    CHECK(outcome.status == 0); // the rows agree; only integrity_check sees the index
    outcome = over_ssh({"verify", "--no-times", "--sqlite"});
    INFO(outcome.log);
    CHECK(outcome.status == 1);
    CHECK_THAT(outcome.log,
               Catch::Contains("integrity /app.db: PRAGMA integrity_check on the target says: "
                               "row 1 missing from index tv"));

    // Without fsmirror on the remote (the SFTP fallback) nothing can read them there: counted,
    // never silently passed as compared.
    outcome = over_ssh({"verify", "--no-times"}, "/nonexistent/bin/fsmirror");
    INFO(outcome.log);
    CHECK_THAT(outcome.log, Catch::Contains("1 SQLite database on the remote target not compared"));
    CHECK_THAT(outcome.log, !Catch::Contains("compared by content"));
}
