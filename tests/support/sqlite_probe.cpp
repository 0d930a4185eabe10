#include "tests/support/sqlite_probe.hpp"

#include <sqlite3.h>

namespace fsmirror::test_support {

DatabaseProbe probe_database(const std::filesystem::path& path, ProbeAccess access) {
    DatabaseProbe probe;
    sqlite3* db = nullptr;
    const std::string name = access == ProbeAccess::immutable
                                 ? "file:" + path.string() + "?immutable=1"
                                 : "file:" + path.string() + "?mode=ro";
    if (sqlite3_open_v2(name.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) !=
        SQLITE_OK) {
        probe.error = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        return probe;
    }
    probe.opened = true;
    sqlite3_busy_timeout(db, 10000);
    const auto query = [&](const char* sql, auto on_row) {
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v2(db, sql, -1, &statement, nullptr) != SQLITE_OK) {
            probe.error = std::string(sql) + ": " + sqlite3_errmsg(db);
            return;
        }
        int code = SQLITE_ROW;
        while ((code = sqlite3_step(statement)) == SQLITE_ROW)
            on_row(statement);
        if (code != SQLITE_DONE && probe.error.empty())
            probe.error = std::string(sql) + ": " + sqlite3_errmsg(db);
        sqlite3_finalize(statement);
    };
    // One read transaction, so the check and the counter see the same state of a live source.
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    query("PRAGMA integrity_check", [&](sqlite3_stmt* row) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(row, 0));
        if (!probe.integrity.empty())
            probe.integrity += "; ";
        probe.integrity += text ? text : "";
    });
    if (probe.error.empty())
        query("SELECT n FROM counter WHERE id = 1",
              [&](sqlite3_stmt* row) { probe.counter = sqlite3_column_int64(row, 0); });
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    return probe;
}

std::string describe(const DatabaseProbe& probe) {
    if (!probe.opened)
        return "cannot open: " + probe.error;
    std::string text = "integrity_check: " + probe.integrity.substr(0, 300);
    text += probe.counter ? ", counter " + std::to_string(*probe.counter) : ", no counter";
    if (!probe.error.empty())
        text += ", error: " + probe.error;
    return text;
}

} // namespace fsmirror::test_support
