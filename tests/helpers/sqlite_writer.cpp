// A test program that behaves like an application with a live SQLite database: it keeps one
// connection open and commits transactions until SIGTERM. Each transaction bumps a counter
// row (the test's measure of "how far the mirror got"), inserts rows with random payloads into
// an indexed table and deletes old ones, so pages are rewritten everywhere and, in WAL mode,
// checkpoints (wal_autocheckpoint) happen all the time.
//
//   fsmirror_test_sqlite_writer --database PATH [--journal wal|delete] [--rate N]
//                               [--autocheckpoint PAGES] [--transactions N]
//
// Prints "ready" once the schema exists, and "stopped at N" on exit. With --transactions N it
// commits N transactions, prints "idle at N" and keeps the connection open until SIGTERM.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <sqlite3.h>

#include <signal.h>
#include <unistd.h>

namespace {

volatile sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

[[noreturn]] void die(sqlite3* db, const char* what) {
    std::fprintf(stderr, "sqlite_writer: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    std::exit(1);
}

void exec(sqlite3* db, const std::string& sql) {
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK)
        die(db, sql.c_str());
}

long long counter(sqlite3* db) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT n FROM counter WHERE id = 1", -1, &statement, nullptr) !=
        SQLITE_OK)
        die(db, "prepare");
    long long n = -1;
    if (sqlite3_step(statement) == SQLITE_ROW)
        n = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    return n;
}

} // namespace

int main(int argc, char** argv) {
    std::string database;
    std::string journal = "wal";
    double rate = 200;
    int autocheckpoint = 20;
    long long transactions = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string value = argv[i + 1];
        if (flag == "--database")
            database = value;
        else if (flag == "--journal")
            journal = value;
        else if (flag == "--rate")
            rate = std::stod(value);
        else if (flag == "--autocheckpoint")
            autocheckpoint = std::stoi(value);
        else if (flag == "--transactions")
            transactions = std::stoll(value);
        else {
            std::fprintf(stderr, "sqlite_writer: unknown flag %s\n", flag.c_str());
            return 2;
        }
    }
    if (database.empty()) {
        std::fprintf(stderr, "sqlite_writer: --database is required\n");
        return 2;
    }
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    sqlite3* db = nullptr;
    if (sqlite3_open(database.c_str(), &db) != SQLITE_OK)
        die(db, "open");
    sqlite3_busy_timeout(db, 10000);
    exec(db, "PRAGMA journal_mode=" + journal);
    exec(db, "PRAGMA wal_autocheckpoint=" + std::to_string(autocheckpoint));
    exec(db, "PRAGMA synchronous=NORMAL");
    exec(db, "CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY CHECK (id = 1), "
             "n INTEGER NOT NULL)");
    exec(db, "INSERT OR IGNORE INTO counter VALUES (1, 0)");
    exec(db, "CREATE TABLE IF NOT EXISTS payload(id INTEGER PRIMARY KEY, n INTEGER, a INTEGER, "
             "data BLOB)");
    exec(db, "CREATE INDEX IF NOT EXISTS payload_a ON payload(a)");
    std::printf("ready\n");
    std::fflush(stdout);

    const auto period =
        rate > 0 ? std::chrono::duration<double>(1.0 / rate) : std::chrono::duration<double>(0);
    auto next = std::chrono::steady_clock::now();
    long long done = 0;
    while (!g_stop && (transactions < 0 || done < transactions)) {
        exec(db, "BEGIN IMMEDIATE");
        exec(db, "UPDATE counter SET n = n + 1 WHERE id = 1");
        exec(db, "INSERT INTO payload(n, a, data) SELECT (SELECT n FROM counter), "
                 "abs(random()) % 1000, randomblob(100 + abs(random()) % 1400) "
                 "FROM (VALUES (1), (2), (3), (4), (5))");
        exec(db, "DELETE FROM payload WHERE id <= (SELECT max(id) FROM payload) - 1500");
        exec(db, "COMMIT");
        ++done;
        next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(period);
        std::this_thread::sleep_until(next);
    }
    if (transactions >= 0) {
        std::printf("idle at %lld\n", counter(db));
        std::fflush(stdout);
        while (!g_stop)
            ::pause();
    }
    std::printf("stopped at %lld\n", counter(db));
    sqlite3_close(db);
    return 0;
}
