// TreeMirror with SQLite support, on real temp directories: databases reach the target as
// snapshots, their companions never do, stale companions on the target go before a snapshot
// lands, and DatabaseWatch routes events. The snapshots are taken in-process by a fake taker
// (the real one runs the fsmirror binary, which the integration tests exercise).

#include "engine/database_watch.hpp"
#include "engine/tree_mirror.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/sqlite_probe.hpp"
#include "tests/unit/tree_mirror_harness.hpp"

#include <algorithm>
#include <atomic>

#include <catch2/catch.hpp>
#include <sqlite3.h>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::engine;
using namespace std::chrono_literals;

namespace {

// Snapshots with the backup API in this process, or fails as told.
class FakeTaker final : public SnapshotTaker {
public:
    std::atomic<int> calls{0};
    std::optional<base::Error> failure;

    base::Status take(int dir_fd, const std::string& name, const fs::path& output) override {
        ++calls;
        if (failure)
            return std::unexpected(*failure);
        const std::string database = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
        sqlite3* source = nullptr;
        sqlite3* copy = nullptr;
        int code = sqlite3_open_v2(database.c_str(), &source, SQLITE_OPEN_READONLY, nullptr);
        if (code == SQLITE_OK)
            code = sqlite3_open(output.c_str(), &copy);
        if (code == SQLITE_OK) {
            sqlite3_backup* backup = sqlite3_backup_init(copy, "main", source, "main");
            code = backup ? sqlite3_backup_step(backup, -1) : SQLITE_ERROR;
            sqlite3_backup_finish(backup);
            code = code == SQLITE_DONE ? SQLITE_OK : code;
        }
        sqlite3_close(copy);
        sqlite3_close(source);
        if (code != SQLITE_OK)
            return base::fail(base::ErrorKind::fatal,
                              "fake snapshot failed: " + std::string(sqlite3_errstr(code)));
        return {};
    }
};

void exec(sqlite3* db, const char* sql) {
    REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
}

// Makes database `path` with a counter at `value`. In WAL mode the commits are left in the
// -wal (the connection closes without a checkpoint), as with a database that is open in its
// application; the database file alone does not hold them.
void make_database(const fs::path& path, long long value, bool wal) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    if (wal) {
        exec(db, "PRAGMA journal_mode=WAL");
        exec(db, "PRAGMA wal_autocheckpoint=0");
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    }
    exec(db, "CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY, n INTEGER)");
    const std::string sql =
        "INSERT OR REPLACE INTO counter VALUES (1, " + std::to_string(value) + ")";
    exec(db, sql.c_str());
    sqlite3_close(db);
}

long long target_counter(const fs::path& path) {
    auto probe = test_support::probe_database(path, test_support::ProbeAccess::immutable);
    INFO(test_support::describe(probe));
    REQUIRE(probe.ok());
    return *probe.counter;
}

// The TreeMirror fixture, with a DatabaseWatch (and a fake snapshot taker) between the source
// and the mirror.
struct Harness : test_support::TreeMirrorHarness {
    fs::path snapshots = dir / "snapshots";
    FakeTaker* taker = nullptr;
    std::unique_ptr<DatabaseWatch> watch;

    // The mirror holds the watch's DatabaseMirror: it goes first.
    ~Harness() { mirror.reset(); }

    void open(std::vector<std::string> paths = {}) {
        open_source_and_target();
        DatabaseWatchOptions watch_options;
        for (const auto& pattern : paths)
            watch_options.paths.add_pattern(pattern);
        watch_options.delay = 100ms;
        watch_options.interval = 1s;
        watch_options.snapshot_root = snapshots;
        watch_options.excludes = &excludes;
        auto fake = std::make_unique<FakeTaker>();
        taker = fake.get();
        watch = std::make_unique<DatabaseWatch>("unit", std::move(watch_options), *tree, *transport,
                                                logger, std::move(fake));
        make_mirror({}, &watch->mirror());
    }

    BatchOutcome change(const std::string& path, ChangeKind kind = ChangeKind::modify) {
        Batch batch;
        batch.changes.push_back(Change{path, kind, 0});
        return mirror->run_batch(batch, Phase::running);
    }

    bool called(const std::string& call) const {
        auto calls = recorder->calls();
        return std::find(calls.begin(), calls.end(), call) != calls.end();
    }

    std::ptrdiff_t position(const std::string& call) const {
        auto calls = recorder->calls();
        auto found = std::find(calls.begin(), calls.end(), call);
        INFO("call " << call);
        REQUIRE(found != calls.end());
        return found - calls.begin();
    }

    bool snapshot_directory_empty() const {
        for (const auto& entry : fs::recursive_directory_iterator(snapshots))
            if (entry.is_regular_file())
                return false;
        return true;
    }
};

} // namespace

TEST_CASE("a database reaches the target as a snapshot, its companions never",
          "[engine][sqlite][concurrent]") {
    Harness h;
    make_database(h.source / "app.db", 42, true);
    REQUIRE(fs::exists(h.source / "app.db-wal"));
    test_support::write_file(h.target / "app.db-wal", test_support::make_content(4096, 7));
    test_support::write_file(h.target / "app.db-journal", "stale");
    test_support::write_file(h.source / "notes", "plain\n");
    test_support::write_file(h.source / "notes-journal", "a diary\n");
    h.open();

    auto outcome = h.initial();
    INFO(outcome.failed.size() << " failed; first: "
                               << (outcome.failed.empty() ? "" : outcome.failed[0].error.message));
    REQUIRE(outcome.failed.empty());
    CHECK(target_counter(h.target / "app.db") == 42); // the commits in the -wal included
    REQUIRE(outcome.snapshots.size() == 1);
    CHECK(outcome.snapshots[0].path == "app.db");
    CHECK(h.taker->calls == 1);
    // Stale companions go before the snapshot is put in place.
    CHECK(h.position("remove app.db-wal") < h.position("put_file app.db"));
    CHECK(h.position("remove app.db-journal") < h.position("put_file app.db"));
    CHECK_FALSE(h.called("put_file app.db-wal"));
    CHECK_FALSE(h.called("put_file app.db-shm"));
    CHECK_FALSE(fs::exists(h.target / "app.db-wal"));
    CHECK_FALSE(fs::exists(h.target / "app.db-shm"));
    CHECK(test_support::read_file(h.target / "notes-journal") == "a diary\n");
    CHECK(h.snapshot_directory_empty());
    CHECK(h.watch->counters().snapshots == 1);
}

TEST_CASE("an unchanged database is snapshotted again only while it has a -wal",
          "[engine][sqlite][concurrent]") {
    Harness h;
    make_database(h.source / "closed.db", 1, false); // rollback journal, closed: no companion
    make_database(h.source / "open.db", 2, true);    // its -wal may hold anything
    h.open();
    REQUIRE(h.initial().failed.empty());
    REQUIRE(h.taker->calls == 2);
    REQUIRE(h.initial().failed.empty());
    CHECK(h.taker->calls == 3);
    CHECK(target_counter(h.target / "closed.db") == 1);
    CHECK(target_counter(h.target / "open.db") == 2);
}

TEST_CASE("a change to a companion snapshots its database instead",
          "[engine][sqlite][concurrent]") {
    Harness h;
    make_database(h.source / "app.db", 1, true);
    h.open();
    REQUIRE(h.initial().failed.empty());
    make_database(h.source / "app.db", 2, true);
    auto outcome = h.change("app.db-wal");
    REQUIRE(outcome.failed.empty());
    REQUIRE(outcome.snapshots.size() == 1);
    CHECK(target_counter(h.target / "app.db") == 2);
    CHECK_FALSE(fs::exists(h.target / "app.db-wal"));

    SECTION("a companion and its database in one batch make one snapshot") {
        Batch batch;
        batch.changes.push_back(Change{"app.db", ChangeKind::modify, 0});
        batch.changes.push_back(Change{"app.db-journal", ChangeKind::modify, 0});
        batch.changes.push_back(Change{"app.db-wal", ChangeKind::modify, 0});
        test_support::write_file(h.source / "app.db-journal", "");
        const int before = h.taker->calls;
        REQUIRE(h.mirror->run_batch(batch, Phase::running).failed.empty());
        CHECK(h.taker->calls == before + 1);
    }
}

TEST_CASE("a failed snapshot is reported and the target keeps its last copy",
          "[engine][sqlite][concurrent]") {
    Harness h;
    make_database(h.source / "app.db", 1, true);
    h.open();
    REQUIRE(h.initial().failed.empty());
    make_database(h.source / "app.db", 2, true);
    h.taker->failure = base::Error{base::ErrorKind::transient, "locked", 3};
    auto outcome = h.change("app.db");
    REQUIRE(outcome.failed.size() == 1);
    CHECK(outcome.failed[0].change.path == "app.db");
    CHECK(outcome.failed[0].error.kind == base::ErrorKind::transient);
    CHECK_THAT(outcome.failed[0].error.message, Catch::Contains("snapshot of /app.db"));
    CHECK(outcome.snapshots.empty());
    CHECK(target_counter(h.target / "app.db") == 1);
    CHECK(h.watch->counters().snapshot_failures == 1);
    CHECK(h.snapshot_directory_empty());
}

TEST_CASE("sqlite paths limit which files are treated as databases",
          "[engine][sqlite][concurrent]") {
    Harness h;
    make_database(h.source / "app.db", 1, true);
    make_database(h.source / "data.sqlite", 2, true);
    h.open({"*.sqlite"});
    REQUIRE(h.initial().failed.empty());
    CHECK(h.taker->calls == 1);
    CHECK(target_counter(h.target / "data.sqlite") == 2);
    CHECK_FALSE(fs::exists(h.target / "data.sqlite-wal"));
    // Outside the paths: bytes, companions and all, as before.
    CHECK(test_support::read_file(h.target / "app.db-wal") ==
          test_support::read_file(h.source / "app.db-wal"));
}

TEST_CASE("an excluded database is not snapshotted, through its companions either",
          "[engine][sqlite][concurrent]") {
    Harness h;
    make_database(h.source / "app.db", 1, true);
    h.excludes.add_pattern("/app.db");
    h.open();
    REQUIRE(h.initial().failed.empty());
    CHECK(h.change("app.db-wal").failed.empty());
    CHECK(h.taker->calls == 0);
    CHECK_FALSE(fs::exists(h.target / "app.db"));
    CHECK_FALSE(fs::exists(h.target / "app.db-wal"));
    CHECK(h.watch
              ->route(FsEvent{EventKind::modified, "app.db-wal", "", false},
                      TimePoint{std::chrono::seconds(1)})
              .empty());
    CHECK_FALSE(h.watch->next_due());
}

TEST_CASE("a database renamed over stale companions clears them before the rename",
          "[engine][sqlite][concurrent]") {
    Harness h;
    make_database(h.source / "old.db", 1, false);
    h.open();
    REQUIRE(h.initial().failed.empty());
    test_support::write_file(h.target / "new.db-wal", "stale");
    fs::rename(h.source / "old.db", h.source / "new.db");
    Batch batch;
    batch.moves.push_back(Move{"old.db", "new.db"});
    REQUIRE(h.mirror->run_batch(batch, Phase::running).failed.empty());
    CHECK(h.position("remove new.db-wal") < h.position("rename old.db -> new.db"));
    CHECK_FALSE(fs::exists(h.target / "new.db-wal"));
    CHECK(target_counter(h.target / "new.db") == 1);
}

TEST_CASE("database events are routed to snapshots, other events pass through",
          "[engine][sqlite][watch][concurrent]") {
    Harness h;
    make_database(h.source / "app.db", 1, true);
    test_support::write_file(h.source / "notes", "plain\n");
    h.open();
    const TimePoint t0{std::chrono::seconds(100)};
    auto& watch = *h.watch;

    SECTION("a -wal write means a snapshot a delay later") {
        CHECK(watch.route(FsEvent{EventKind::modified, "app.db-wal", "", false}, t0).empty());
        CHECK(watch.next_due() == t0 + 100ms);
        auto due = watch.take_due(t0 + 100ms);
        REQUIRE(due.size() == 1);
        CHECK(due[0].path == "app.db");
        CHECK(due[0].kind == ChangeKind::modify);
        SECTION("and the database's own writes then go the same way") {
            watch.record_landed({SnapshotLanded{"app.db", t0 + 100ms, t0 + 150ms}});
            CHECK(watch.counters().last_recovery_point_ms == 150);
            CHECK(
                watch.route(FsEvent{EventKind::modified, "app.db", "", false}, t0 + 200ms).empty());
            // The interval, less the 50 ms the last snapshot took to land.
            CHECK(watch.next_due() == t0 + 100ms + 1s - 50ms);
        }
    }
    SECTION("a -wal created or removed, or any -shm event, changes nothing") {
        CHECK(watch.route(FsEvent{EventKind::created, "app.db-wal", "", false}, t0).empty());
        CHECK(watch.route(FsEvent{EventKind::removed, "app.db-wal", "", false}, t0).empty());
        CHECK(watch.route(FsEvent{EventKind::modified, "app.db-shm", "", false}, t0).empty());
        CHECK_FALSE(watch.next_due());
    }
    SECTION("a -journal coming or going means a snapshot") {
        CHECK(watch.route(FsEvent{EventKind::removed, "app.db-journal", "", false}, t0).empty());
        CHECK(watch.next_due() == t0 + 100ms);
    }
    SECTION("companion names of plain or absent files are ordinary files") {
        for (const char* path : {"notes-journal", "missing.db-wal"}) {
            FsEvent event{EventKind::modified, path, "", false};
            auto routed = watch.route(event, t0);
            REQUIRE(routed.size() == 1);
            CHECK(routed[0].path == path);
        }
        CHECK_FALSE(watch.next_due());
    }
    SECTION("a database not yet known passes through, to be found by the tree mirror") {
        auto routed = watch.route(FsEvent{EventKind::modified, "app.db", "", false}, t0);
        REQUIRE(routed.size() == 1);
        CHECK(routed[0].kind == EventKind::modified);
    }
    SECTION("a rename onto a companion name is a removal plus a snapshot") {
        auto routed = watch.route(FsEvent{EventKind::moved, "app.db-journal", "notes", false}, t0);
        REQUIRE(routed.size() == 1);
        CHECK(routed[0].kind == EventKind::removed);
        CHECK(routed[0].path == "notes");
        CHECK(watch.next_due() == t0 + 100ms);
    }
    SECTION("a failed snapshot of a known database is retried by the schedule") {
        watch.record_landed({SnapshotLanded{"app.db", t0, t0}});
        FailedChange failed{Change{"app.db", ChangeKind::modify, 1}, base::Error{}};
        CHECK(watch.take_failure(failed, t0 + 1s, t0 + 3s));
        CHECK(watch.next_due() == t0 + 3s);
        FailedChange other{Change{"notes", ChangeKind::modify, 1}, base::Error{}};
        CHECK_FALSE(watch.take_failure(other, t0 + 1s, t0 + 3s));
    }
}
