// Live SQLite databases mirrored by the real binary while a real writer process commits to
// them: every copy a reader of the target can open is a sound database (integrity_check ok)
// holding a committed state no newer than the source's and never older than one seen before.
// The writer is tests/helpers/sqlite_writer.cpp; docs/sqlite.md explains the design and keeps
// the experiment showing that a plain file copy fails this same check.

#include "tests/integration/ssh_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/sqlite_probe.hpp"
#include "tests/support/ssh_agent.hpp"
#include "tests/support/sshd_server.hpp"
#include "tests/support/wait.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::fsmirror_binary;
using fsmirror::integration::join_lines;
using fsmirror::integration::k_test_delay;
using fsmirror::integration::MirrorFixture;
using fsmirror::integration::sshd_directory;

namespace {

constexpr std::chrono::milliseconds k_watch_time{3000};

// The writer program, run for the lifetime of the object.
class Writer {
public:
    Writer(const fs::path& database, const fs::path& log, std::vector<std::string> flags) {
        std::vector<std::string> argv{FSMIRROR_SQLITE_WRITER, "--database", database.string()};
        argv.insert(argv.end(), flags.begin(), flags.end());
        m_process = std::make_unique<ChildProcess>(
            ChildOptions{.argv = argv, .log_file = log, .working_directory = std::nullopt});
        INFO("writer log:\n" << m_process->log_tail());
        REQUIRE(m_process->wait_for_log("ready", std::chrono::seconds(20)));
    }

    // Waits for the writer to say `text` (e.g. "idle at 50").
    void require_says(const std::string& text) {
        const bool said = m_process->wait_for_log(text, std::chrono::seconds(20));
        INFO("writer log:\n" << m_process->log_tail());
        REQUIRE(said);
    }

    // Stops it with SIGTERM (it commits nothing more and closes its connection).
    void stop() {
        REQUIRE(m_process->send_signal(SIGTERM));
        const auto status = m_process->wait_for_exit(std::chrono::seconds(20));
        INFO("writer log:\n" << m_process->log_tail());
        REQUIRE(status.has_value());
        REQUIRE(*status == 0);
    }

private:
    std::unique_ptr<ChildProcess> m_process;
};

std::vector<std::string> sqlite_flags(const MirrorFixture& fixture) {
    return {"--sqlite-temp-dir", (fixture.root() / "snapshots").string()};
}

void require_no_companions(const MirrorFixture& fixture, const std::string& name) {
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
        INFO("companion " << name << suffix << " on the target");
        REQUIRE_FALSE(fs::exists(fixture.target() / (name + suffix)));
    }
}

// Reads the target's copy over and over for `duration` while the writer runs, each time
// followed by the source. Returns the distinct counter values the target showed.
std::set<long long> watch_target(MirrorFixture& fixture, const std::string& name,
                                 std::chrono::milliseconds duration) {
    std::set<long long> seen;
    long long last = -1;
    std::size_t reads = 0;
    const auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) {
        const DatabaseProbe target =
            probe_database(fixture.target() / name, ProbeAccess::immutable);
        const DatabaseProbe source = probe_database(fixture.source() / name, ProbeAccess::shared);
        ++reads;
        INFO("read " << reads << " of the target: " << describe(target));
        INFO("then the source: " << describe(source));
        INFO("daemon log:\n" << fixture.log_tail());
        REQUIRE(target.ok());
        REQUIRE(source.ok());
        REQUIRE(*target.counter >= last);
        REQUIRE(*target.counter <= *source.counter);
        // A reader that opens the copy normally would apply a -wal or -journal found beside it.
        require_no_companions(fixture, name);
        last = *target.counter;
        seen.insert(last);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return seen;
}

// REQUIREs that the target's copy comes to hold what the (now idle) source holds.
void require_final_state(MirrorFixture& fixture, const std::string& name) {
    const DatabaseProbe source = probe_database(fixture.source() / name, ProbeAccess::shared);
    INFO("source: " << describe(source));
    REQUIRE(source.ok());
    DatabaseProbe target;
    const bool arrived = wait_until(
        [&] {
            target = probe_database(fixture.target() / name, ProbeAccess::immutable);
            return target.ok() && target.counter == source.counter;
        },
        k_settle_timeout);
    INFO("target: " << describe(target));
    INFO("daemon log:\n" << fixture.log_tail());
    REQUIRE(arrived);
}

// REQUIREs that nothing but the writer's own files is in the source, and that the snapshot
// directory was cleaned up.
void require_nothing_left_behind(const MirrorFixture& fixture, const std::string& name) {
    const std::set<std::string> allowed{name, name + "-wal", name + "-shm", name + "-journal"};
    for (const auto& entry : fs::directory_iterator(fixture.source())) {
        const std::string file = entry.path().filename().string();
        INFO("unexpected file in the source: " << file);
        REQUIRE((allowed.contains(file) || file.starts_with("settle-")));
    }
    const fs::path snapshots = fixture.root() / "snapshots";
    if (fs::exists(snapshots)) {
        INFO("left in the snapshot directory: "
             << (fs::directory_iterator(snapshots) == fs::directory_iterator()
                     ? ""
                     : fs::directory_iterator(snapshots)->path().string()));
        REQUIRE(fs::is_empty(snapshots));
    }
}

void run_live_writer_test(const std::string& journal, const std::string& rate) {
    MirrorFixture fixture;
    const std::string name = "app.db";
    Writer writer(fixture.source() / name, fixture.root() / "writer.log",
                  {"--journal", journal, "--rate", rate, "--autocheckpoint", "20"});
    fixture.start(sqlite_flags(fixture));

    const std::set<long long> seen = watch_target(fixture, name, k_watch_time);
    INFO("distinct counters seen on the target: " << seen.size());
    INFO("daemon log:\n" << fixture.log_tail());
    // Mirrored while it ran, not only at the end (about 15 snapshots are expected).
    REQUIRE(seen.size() >= 3);

    writer.stop();
    require_final_state(fixture, name);
    fixture.stop();
    require_no_companions(fixture, name);
    require_nothing_left_behind(fixture, name);
}

} // namespace

TEST_CASE("a WAL database written continuously is a sound database on the target at every read",
          "[integration][sqlite][concurrent]") {
    run_live_writer_test("wal", "300");
}

TEST_CASE("a rollback-journal database written continuously is sound on the target at every read",
          "[integration][sqlite]") {
    // Slower: each rollback-mode commit syncs, and a writer that commits back to back holds a
    // lock that shuts every reader out (its own application's too).
    run_live_writer_test("delete", "50");
}

TEST_CASE("commits still in the WAL reach the target with the initial sync",
          "[integration][sqlite]") {
    MirrorFixture fixture;
    // No checkpoints: the database file itself holds none of the 50 transactions.
    Writer writer(fixture.source() / "app.db", fixture.root() / "writer.log",
                  {"--autocheckpoint", "0", "--transactions", "50", "--rate", "0"});
    writer.require_says("idle at 50");
    // What a copy of the database file alone would show.
    fs::copy_file(fixture.source() / "app.db", fixture.outside() / "plain.db");
    const DatabaseProbe plain =
        probe_database(fixture.outside() / "plain.db", ProbeAccess::immutable);
    INFO("the database file alone: " << describe(plain));
    REQUIRE((!plain.ok() || *plain.counter < 50));

    fixture.start(sqlite_flags(fixture));
    const DatabaseProbe target =
        probe_database(fixture.target() / "app.db", ProbeAccess::immutable);
    INFO("target: " << describe(target));
    INFO("daemon log:\n" << fixture.log_tail());
    REQUIRE(target.ok());
    REQUIRE(*target.counter == 50);
    require_no_companions(fixture, "app.db");
    writer.stop();
    require_final_state(fixture, "app.db");
    fixture.stop();
}

TEST_CASE("stale companions on the target go and companion-like names of plain files are mirrored",
          "[integration][sqlite]") {
    MirrorFixture fixture;
    {
        Writer writer(fixture.source() / "app.db", fixture.root() / "writer.log",
                      {"--transactions", "5", "--rate", "0"});
        writer.require_says("idle at 5");
        writer.stop();
    }
    // Left by an older mirror that copied files one by one, or by a reader of the target.
    write_file(fixture.target() / "app.db-wal", make_content(8192, 1));
    write_file(fixture.target() / "app.db-shm", make_content(32768, 2));
    write_file(fixture.target() / "app.db-journal", make_content(4096, 3));
    // Names with companion suffixes beside files that are not databases are just files.
    write_file(fixture.source() / "notes", "plain text\n");
    write_file(fixture.source() / "notes-journal", "a diary\n");
    write_file(fixture.source() / "data.db", "not a database\n");
    write_file(fixture.source() / "data.db-wal", "not a log\n");

    // The stale companions make a target without a marker, which the non-empty-target check
    // refuses (test_safety_check.cpp); the operator vouches for it here.
    auto flags = sqlite_flags(fixture);
    flags.push_back("--skip-safety");
    fixture.start(flags);
    require_no_companions(fixture, "app.db");
    const DatabaseProbe target =
        probe_database(fixture.target() / "app.db", ProbeAccess::immutable);
    INFO("target: " << describe(target));
    REQUIRE(target.ok());
    REQUIRE(*target.counter == 5);
    for (const char* plain : {"notes", "notes-journal", "data.db", "data.db-wal"})
        REQUIRE(read_file(fixture.target() / plain) == read_file(fixture.source() / plain));

    // The same while running.
    write_file(fixture.source() / "later", "plain\n");
    write_file(fixture.source() / "later-journal", "still plain\n");
    fixture.settle();
    REQUIRE(read_file(fixture.target() / "later-journal") == "still plain\n");
    fixture.stop();
}

TEST_CASE("the no-sqlite flag copies a database and its companions as plain files",
          "[integration][sqlite]") {
    MirrorFixture fixture;
    Writer writer(fixture.source() / "app.db", fixture.root() / "writer.log",
                  {"--autocheckpoint", "0", "--transactions", "5", "--rate", "0"});
    writer.require_says("idle at 5");
    fixture.start({"--no-sqlite"});
    REQUIRE(fs::exists(fixture.target() / "app.db-wal"));
    REQUIRE(read_file(fixture.target() / "app.db") == read_file(fixture.source() / "app.db"));
    writer.stop();
    fixture.stop();
}

TEST_CASE("a database that never stops changing is snapshotted once per sqlite interval",
          "[integration][sqlite][concurrent]") {
    MirrorFixture fixture;
    Writer writer(fixture.source() / "app.db", fixture.root() / "writer.log", {"--rate", "200"});
    std::vector<std::string> flags = sqlite_flags(fixture);
    flags.insert(flags.end(), {"--sqlite-interval", "1.5"});
    fixture.start(flags);
    const auto count = [&] {
        return fixture.daemon().count_in_log("snapshot of database /app.db");
    };
    const std::size_t at_start = count();
    std::this_thread::sleep_for(std::chrono::milliseconds(4000));
    const std::size_t during = count() - at_start;
    INFO("snapshots in 4 s with a 0.2 s delay and a 1.5 s interval: " << during);
    INFO("daemon log:\n" << fixture.log_tail());
    // About 3 (a 0.2 s delay alone would give about 20); the bounds leave room for a slow box.
    REQUIRE(during >= 1);
    REQUIRE(during <= 4);
    writer.stop();
    require_final_state(fixture, "app.db");
    fixture.stop();
}

TEST_CASE("a WAL database written continuously is sound at every read on an SSH target",
          "[integration][sqlite][ssh][concurrent]") {
    MirrorFixture fixture;
    const fs::path sshd_dir = sshd_directory(fixture);
    SshdServer sshd(sshd_dir);
    // Logged in through ssh-agent, as an operator with a passphrase-protected key would be.
    SshAgent agent(sshd_dir);
    agent.add(sshd.client_key());
    ScopedEnvironment home("HOME", fixture.outside().string());
    ScopedEnvironment socket("SSH_AUTH_SOCK", agent.socket().string());

    const std::string name = "app.db";
    Writer writer(fixture.source() / name, fixture.root() / "writer.log",
                  {"--journal", "wal", "--rate", "300", "--autocheckpoint", "20"});
    std::vector<std::string> args{"run",
                                  "--source",
                                  fixture.source().string(),
                                  "--target",
                                  sshd.target(fixture.target()),
                                  "--known-hosts",
                                  sshd.known_hosts().string(),
                                  "--agent-path",
                                  fsmirror_binary().string(),
                                  "--delay",
                                  k_test_delay,
                                  "--log-level",
                                  "debug"};
    const auto sqlite = sqlite_flags(fixture);
    args.insert(args.end(), sqlite.begin(), sqlite.end());
    fixture.start_with_args(args, std::nullopt, 1);
    REQUIRE(fixture.daemon().count_in_log("authenticated with ssh-agent key") >= 1);
    REQUIRE(fixture.daemon().count_in_log("connected (fsmirror agent") == 1);

    const std::set<long long> seen = watch_target(fixture, name, k_watch_time);
    INFO("distinct counters seen on the target: " << seen.size());
    INFO("daemon log:\n" << fixture.log_tail());
    REQUIRE(seen.size() >= 3);

    writer.stop();
    require_final_state(fixture, name);
    fixture.stop();
    require_no_companions(fixture, name);
    require_nothing_left_behind(fixture, name);
}
