// The pre-flight checks that look at an SSH target, run over the connection against a real
// sshd on loopback (tests/support/sshd_server.hpp), through the agent and through the SFTP
// fallback: a marker naming another source, free space on the remote file system (a small
// tmpfs mounted by the test as the remote target) and require_mount for the target.

#include "tests/integration/safety_support.hpp"
#include "tests/integration/ssh_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::integration;
using namespace fsmirror::test_support;

namespace {

constexpr const char* k_missing_agent = "/nonexistent/bin/fsmirror";

struct Backend {
    const char* name;
    std::string agent_path; // a path that does not exist: the SFTP fallback
};

std::vector<Backend> backends() {
    return {{"agent", fsmirror_binary().string()}, {"sftp", k_missing_agent}};
}

// `fsmirror <command> --source <source> <extra...>` against `remote` through `sshd`.
CommandRun over_ssh(MirrorFixture& fixture, const SshdServer& sshd, const fs::path& remote,
                    const std::string& command, const std::string& agent_path,
                    const std::vector<std::string>& extra = {}) {
    return fixture.run_with_output(concat(concat({command, "--source", fixture.source().string()},
                                                 ssh_flags(sshd, remote, agent_path)),
                                          extra));
}

void empty_directory(const fs::path& directory) {
    for (const auto& entry : fs::directory_iterator(directory))
        fs::remove_all(entry.path());
}

} // namespace

TEST_CASE("an SSH target marked for another source is refused unless --skip-safety, which "
          "rewrites the marker",
          "[integration][ssh][safety]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "kept.txt", "source\n");
    const std::string source = fs::canonical(fixture.source()).string();
    const fs::path marker = fixture.target() / ".fsmirror";
    for (const auto& backend : backends()) {
        INFO("backend: " << backend.name);
        empty_directory(fixture.target());
        const std::string foreign = "source=/srv/another-source\nsync=another\n";
        write_file(marker, foreign);
        write_file(fixture.target() / "theirs.txt", "another mirror's file\n");

        for (const char* command : {"check", "sync"}) {
            const CommandRun refused =
                over_ssh(fixture, sshd, fixture.target(), command, backend.agent_path);
            INFO(refused.log);
            CHECK(refused.status != 0);
            // The same words as for a local target (safety/target_ownership.cpp).
            CHECK_THAT(refused.log, Catch::Contains("non-empty-target: ") &&
                                        Catch::Contains(".fsmirror marker says it mirrors "
                                                        "/srv/another-source, not " +
                                                        source) &&
                                        Catch::Contains("--skip-safety"));
        }
        // A dry run checks the remote target as `sync` does, says what a real run would
        // refuse, and shows what --skip-safety would change; it writes nothing, marker included.
        const CommandRun dry =
            over_ssh(fixture, sshd, fixture.target(), "sync", backend.agent_path, {"--dry-run"});
        INFO(dry.log);
        CHECK(dry.status == 0);
        CHECK_THAT(dry.log, Catch::Contains("check non-empty-target: ") &&
                                Catch::Contains("(a real run would refuse it)") &&
                                Catch::Contains("dry-run: delete /theirs.txt"));
        CHECK(fs::exists(fixture.target() / "theirs.txt"));
        CHECK(read_file(marker) == foreign);
        CHECK_FALSE(fs::exists(fixture.target() / "kept.txt"));

        const CommandRun allowed = over_ssh(fixture, sshd, fixture.target(), "sync",
                                            backend.agent_path, {"--skip-safety"});
        INFO(allowed.log);
        CHECK(allowed.status == 0);
        CHECK_THAT(allowed.log, Catch::Contains("allowed by --skip-safety"));
        CHECK_THAT(read_file(marker), Catch::Contains("source=" + source + "\n"));
        CHECK(read_file(fixture.target() / "kept.txt") == "source\n");

        // Ours now: the next run needs no flag.
        const CommandRun again =
            over_ssh(fixture, sshd, fixture.target(), "sync", backend.agent_path);
        INFO(again.log);
        CHECK(again.status == 0);
        const CommandRun dry_again =
            over_ssh(fixture, sshd, fixture.target(), "sync", backend.agent_path, {"--dry-run"});
        INFO(dry_again.log);
        CHECK(dry_again.status == 0);
    }
}

TEST_CASE("a remote target too small for the initial sync is refused over SSH",
          "[integration][ssh][safety][mount]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    for (int i = 0; i < 4; ++i)
        write_file(fixture.source() / ("big" + std::to_string(i)), make_content(1 << 20, i));
    const fs::path remote = fixture.root() / "remote";
    auto small = std::make_unique<TmpfsMount>(remote, "size=2m");
    for (const auto& backend : backends()) {
        INFO("backend: " << backend.name);
        const CommandRun check = over_ssh(fixture, sshd, remote, "check", backend.agent_path);
        INFO(check.log);
        CHECK(check.status == 1);
        CHECK_THAT(check.log,
                   Catch::Contains("FAILED  free-space: ") &&
                       Catch::Contains(remote.string() + ": the initial sync needs about") &&
                       Catch::Contains("df -h"));

        const CommandRun sync = over_ssh(fixture, sshd, remote, "sync", backend.agent_path);
        INFO(sync.log);
        CHECK(sync.status != 0);
        CHECK_THAT(sync.log, Catch::Contains("pre-flight check failed: free-space: "));
        CHECK(fs::is_empty(remote));
    }

    // With room for it (4 MiB of files, and 4 MiB for the four in flight) the same target
    // passes. Then a restart on the filled mirror passes too, although less than 8 MiB is free
    // now: what is there already counts as written, found by walking the remote tree.
    small.reset();
    TmpfsMount larger(remote, "size=9m");
    const CommandRun sync = over_ssh(fixture, sshd, remote, "sync", fsmirror_binary().string());
    INFO(sync.log);
    CHECK(sync.status == 0);
    CHECK(compare_trees(fixture.source(), remote).empty());
    const CommandRun check = over_ssh(fixture, sshd, remote, "check", fsmirror_binary().string());
    INFO(check.log);
    CHECK(check.status == 0);
    CHECK_THAT(check.log, Catch::Contains("ok      free-space: "));
}

TEST_CASE("require_mount for an SSH target refuses a bare directory and accepts a mounted tmpfs",
          "[integration][ssh][safety][mount]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    make_tree(fixture.source(), 2, 6);
    const fs::path remote = fixture.root() / "volume";
    fs::create_directories(remote);
    const std::vector<std::string> require = {"--require-mount", "target"};
    const std::string agent = fsmirror_binary().string();

    // An unmounted volume leaves a bare directory: nothing may be written into it.
    for (const char* command : {"check", "sync"}) {
        const CommandRun bare = over_ssh(fixture, sshd, remote, command, agent, require);
        INFO(bare.log);
        CHECK(bare.status != 0);
        CHECK_THAT(bare.log, Catch::Contains("target-mount: ") &&
                                 Catch::Contains("require_mount is set but the target is not a "
                                                 "mount point") &&
                                 Catch::Contains("findmnt " + remote.string()) &&
                                 Catch::Contains(" on 127.0.0.1"));
    }
    CHECK(fs::is_empty(remote));

    // Without an agent nothing there can tell: refused, saying why.
    const CommandRun sftp = over_ssh(fixture, sshd, remote, "check", k_missing_agent, require);
    INFO(sftp.log);
    CHECK(sftp.status == 1);
    CHECK_THAT(sftp.log, Catch::Contains("FAILED  target-mount: ") &&
                             Catch::Contains("cannot be checked on 127.0.0.1") &&
                             Catch::Contains("SFTP") && Catch::Contains("install fsmirror"));

    TmpfsMount volume(remote);
    const CommandRun check = over_ssh(fixture, sshd, remote, "check", agent, require);
    INFO(check.log);
    CHECK(check.status == 0);
    CHECK_THAT(check.log, Catch::Contains("ok      target-mount: "));
    const CommandRun sync = over_ssh(fixture, sshd, remote, "sync", agent, require);
    INFO(sync.log);
    CHECK(sync.status == 0);
    CHECK(compare_trees(fixture.source(), remote).empty());
}

namespace {

// Starts `run` against `remote` while nothing listens on the sshd's port, then starts sshd:
// the target's checks can only run at reconnection, before the first write.
void run_with_sshd_down(MirrorFixture& fixture, SshdServer& sshd, const fs::path& remote) {
    sshd.kill_all();
    fixture.start_with_args(concat({"run", "--source", fixture.source().string(), "--delay",
                                    k_test_delay, "--log-level", "debug", "--keepalive", "1"},
                                   ssh_flags(sshd, remote)),
                            std::nullopt, 0);
    REQUIRE(wait_until([&] { return fixture.daemon().count_in_log("cannot connect:") >= 1; },
                       std::chrono::seconds(30)));
    sshd.restart();
}

} // namespace

TEST_CASE("an SSH target unreachable at start is checked before its first write: a non-empty "
          "one is refused and left untouched",
          "[integration][ssh][safety][reconnect][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "kept.txt", "source\n");
    write_file(fixture.target() / "theirs.txt", "someone else's data\n");
    run_with_sshd_down(fixture, sshd, fixture.target());

    const bool refused = wait_until(
        [&] {
            return fixture.daemon().count_in_log("pre-flight check failed: non-empty-target") >= 1;
        },
        std::chrono::seconds(60));
    INFO(fixture.daemon().log_text());
    REQUIRE(refused);
    CHECK(fixture.daemon().count_in_log("--skip-safety") >= 1);
    // Its own state and alert, not "cannot be reached".
    const bool alerted = wait_until(
        [&] {
            return fixture.daemon().count_in_log("health CRITICAL: sync1: target ") >= 1 &&
                   fixture.daemon().count_in_log("is refused by its pre-flight checks") >= 1;
        },
        std::chrono::seconds(30));
    CHECK(alerted);
    // A change made after the refusal is held too.
    write_file(fixture.source() / "later.txt", "held\n");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(fixture.target()))
        names.push_back(entry.path().filename().string());
    CHECK(names == std::vector<std::string>{"theirs.txt"});
    CHECK(read_file(fixture.target() / "theirs.txt") == "someone else's data\n");
    fixture.stop();
}

TEST_CASE("an empty SSH target unreachable at start is checked, marked and mirrored once sshd is "
          "up",
          "[integration][ssh][safety][reconnect][concurrent]") {
    MirrorFixture fixture;
    SshdServer sshd(sshd_directory(fixture));
    write_file(fixture.source() / "kept.txt", "source\n");
    run_with_sshd_down(fixture, sshd, fixture.target());
    fixture.require_mirrored();
    CHECK_THAT(read_file(fixture.target() / ".fsmirror"),
               Catch::Contains("source=" + fs::canonical(fixture.source()).string() + "\n"));
    CHECK(fixture.daemon().count_in_log("pre-flight check failed") == 0);
    fixture.stop();
}
