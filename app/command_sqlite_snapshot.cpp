// `fsmirror sqlite-snapshot`: the helper process the engine runs to snapshot one live SQLite
// database. It exists so that the daemon never holds an SQLite connection: POSIX locks belong
// to a process, and closing any descriptor on a database file drops all of that process's
// locks on it, so a process that copies files while holding a connection can corrupt what it
// reads (https://www.sqlite.org/howtocorrupt.html section 2.2). This process opens the database
// through SQLite only, and exits when the snapshot is written.
//
// Exit statuses and their meaning for the engine: engine/snapshot_taker.hpp.

#include "app/commands.hpp"
#include "app/sqlite_connection.hpp"
#include "engine/snapshot_taker.hpp"
#include "engine/sqlite_files.hpp"

#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_help = R"(NAME
    fsmirror sqlite-snapshot - internal: snapshot one live SQLite database

SYNOPSIS
    fsmirror sqlite-snapshot --database DB --output FILE [--busy-timeout-ms N]

DESCRIPTION
    Run by `fsmirror run` and `fsmirror sync` in a child process for each snapshot; not
    meant to be run by hand, though it is safe to. Opens DB read-only (never writes or
    checkpoints it), copies one consistent committed state of it into FILE (which must not
    exist) with SQLite's online backup API, and checks the copy with PRAGMA quick_check.
    DB must not be a symlink.

OPTIONS
    --database DB          the live database
    --output FILE          where the snapshot is written
    --busy-timeout-ms N    how long to wait for a lock before giving up, default 2000

EXIT STATUS
    0 done; 1 failed (corrupt source, failed check, I/O error); 2 usage; 3 the database
    stayed locked; 4 not (or no longer) an SQLite database; 5 no space; 6 permission denied
)";

constexpr int k_default_busy_timeout_ms = 2000;

// How the source is opened.
enum class SourceAccess {
    shared,    // an ordinary read-only connection, taking part in SQLite's locking
    immutable, // immutable=1: no locks, no -shm; only for a quiescent database on a read-only
               // file system, where nothing can change it (see can_read_immutable)
};

// True when the database (in the working directory) is on a read-only file system with no
// -wal or -journal content: then nothing can change it, and when a reader cannot create the
// -shm a WAL database needs, it is safe to read the file alone without locks. A database with
// a -wal or hot -journal there is not: its file alone may be mid-checkpoint or mid-rollback.
bool can_read_immutable(const std::string& database) {
    struct statvfs fs {};
    if (::statvfs(".", &fs) != 0 || (fs.f_flag & ST_RDONLY) == 0)
        return false;
    for (const char* suffix : {"-wal", "-journal"}) {
        struct stat st {};
        const std::string companion = database + suffix;
        if (::lstat(companion.c_str(), &st) == 0 && st.st_size > 0)
            return false;
    }
    return true;
}

// Copies the database with the online backup API in a single step.
//
// Why the backup API, and why in one step:
// - Copying the database and its -wal as files under a read transaction needs raw descriptors
//   to the database in the process that holds the connection (the lock trap), needs the WAL
//   cut at our read mark, and leaves the target with two files that must change together,
//   which no rename can do. The backup API writes one self-contained file.
// - VACUUM INTO also makes a consistent, self-contained copy, but rebuilds every page each
//   time, so two snapshots of a barely changed database differ everywhere and the target's
//   block compare (or an SSH delta) must send all of it; it also costs far more CPU. The
//   backup API copies pages as they are, so consecutive snapshots differ only where the
//   database changed.
// - sqlite3_backup_step(-1) copies every page under one read transaction: a consistent state
//   whatever the writers do. Copying in chunks would release the read lock between steps,
//   and any write from another process restarts the copy, so a busy database might never
//   finish. In WAL mode our read transaction never blocks writers (a checkpoint just cannot
//   pass our snapshot until we finish, so the WAL grows a little). In rollback-journal mode
//   it holds a shared lock, so we never copy mid-transaction, and a writer waits to commit for
//   at most the time of the copy; the busy timeout bounds how long we wait for a writer.
std::optional<Failure> copy_database(const std::string& database, const std::string& output,
                                     int& busy_timeout_ms, SourceAccess access) {
    Connection source;
    // Read-only and not through a symlink. SQLite's reader protocol may still create an
    // empty -wal and -shm beside a WAL-mode database that nobody has open (as every reader
    // does); the database itself is never written or checkpointed by a read-only connection.
    const std::string name =
        access == SourceAccess::immutable ? uri_for(database, "immutable=1") : plain_name(database);
    // URIs only for the immutable form: a database could be named "file:...".
    const int uri = access == SourceAccess::immutable ? SQLITE_OPEN_URI : 0;
    if (auto failed = source.open(name, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW | uri,
                                  "open " + database))
        return failed;
    sqlite3_busy_handler(source.get(), poll_every_millisecond, &busy_timeout_ms);

    // The output must be new: the backup API would merge into an existing database's file.
    const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return Failure{errno == ENOSPC ? engine::k_snapshot_no_space : engine::k_snapshot_failed,
                       fmt::format("create {}: {}", output, std::strerror(errno))};
    ::close(fd);
    Connection copy;
    if (auto failed = copy.open(plain_name(output), SQLITE_OPEN_READWRITE, "open " + output))
        return failed;
    // A scratch file: no journal, no syncs. Its check below reads it back, and the target's
    // copy is the one made durable (fsynced with its directory by the transport).
    if (auto failed =
            copy.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;", "set up " + output))
        return failed;

    sqlite3_backup* backup = sqlite3_backup_init(copy.get(), "main", source.get(), "main");
    if (backup == nullptr)
        return sqlite_failure(copy.get(), sqlite3_errcode(copy.get()), "start the backup");
    const int stepped = sqlite3_backup_step(backup, -1);
    const int finished = sqlite3_backup_finish(backup);
    if (stepped != SQLITE_DONE)
        return sqlite_failure(source.get(), stepped, "copy " + database);
    if (finished != SQLITE_OK)
        return sqlite_failure(copy.get(), finished, "finish the copy of " + database);
    if (auto failed = copy.close("close " + output))
        return failed;
    return source.close("close " + database);
}

// Runs PRAGMA quick_check on the snapshot as a reader of the target will open it: alone,
// with no -wal (immutable=1 also keeps SQLite from creating one). quick_check rather than
// integrity_check: it finds damaged pages and records in time linear in the size; the full
// check's index cross-checks grow faster, and the backup API cannot produce the
// index/table mismatches it looks for unless the source itself has them.
std::optional<Failure> check_copy(const std::string& output) {
    Connection copy;
    if (auto failed = copy.open(uri_for(output, "immutable=1"),
                                SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, "reopen " + output))
        return failed;
    sqlite3_stmt* statement = nullptr;
    int code = sqlite3_prepare_v2(copy.get(), "PRAGMA quick_check", -1, &statement, nullptr);
    if (code != SQLITE_OK)
        return sqlite_failure(copy.get(), code, "check the snapshot");
    std::string problems;
    while ((code = sqlite3_step(statement)) == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
        const std::string row = text != nullptr ? text : "";
        if (row != "ok" && problems.size() < 500)
            problems += (problems.empty() ? "" : "; ") + row;
    }
    sqlite3_finalize(statement);
    if (code != SQLITE_DONE)
        return sqlite_failure(copy.get(), code, "check the snapshot");
    if (!problems.empty())
        return Failure{engine::k_snapshot_failed,
                       "the snapshot failed PRAGMA quick_check (the source may be damaged): " +
                           problems};
    return copy.close("close " + output);
}

} // namespace

int command_sqlite_snapshot(const CommandContext& context) {
    std::optional<std::string> database;
    std::optional<std::string> output;
    int busy_timeout_ms = k_default_busy_timeout_ms;
    const auto usage = [](const std::string& message) {
        std::fprintf(stderr, "fsmirror sqlite-snapshot: %s (see fsmirror sqlite-snapshot --help)\n",
                     message.c_str());
        return engine::k_snapshot_usage;
    };
    const auto& args = context.args;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (flag == "-h" || flag == "--help") {
            std::fputs(k_help, stdout);
            return engine::k_snapshot_ok;
        }
        if (flag != "--database" && flag != "--output" && flag != "--busy-timeout-ms")
            return usage("unknown argument '" + flag + "'");
        if (i + 1 >= args.size() || args[i + 1].empty())
            return usage(flag + " needs a value");
        const std::string& value = args[++i];
        if (flag == "--database") {
            database = value;
        } else if (flag == "--output") {
            output = value;
        } else if (auto ms = parse_milliseconds(value)) {
            busy_timeout_ms = *ms;
        } else {
            return usage("--busy-timeout-ms takes a whole number of milliseconds, got '" + value +
                         "'");
        }
    }
    if (!database || !output)
        return usage("--database and --output are required");

    // Signals sent to the whole process group (Ctrl-C, systemd stopping the service) must not
    // kill a snapshot under the daemon, which finishes the transfers in flight before it
    // exits. The daemon's time limit still bounds this process.
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGTERM, SIG_IGN);

    std::optional<Failure> failed = check_header(*database);
    if (!failed)
        failed = copy_database(*database, *output, busy_timeout_ms, SourceAccess::shared);
    if (failed &&
        (failed->sqlite_code == SQLITE_CANTOPEN ||
         failed->sqlite_code == SQLITE_READONLY_CANTINIT) &&
        can_read_immutable(*database)) {
        ::unlink(output->c_str());
        failed = copy_database(*database, *output, busy_timeout_ms, SourceAccess::immutable);
    }
    if (!failed)
        failed = check_copy(*output);
    if (failed) {
        ::unlink(output->c_str());
        std::fprintf(stderr, "%s\n", failed->message.c_str());
        return failed->status;
    }
    return engine::k_snapshot_ok;
}

} // namespace fsmirror::app
