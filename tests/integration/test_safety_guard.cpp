// The runtime mass-delete guard: fsmirror never follows its source into emptiness on its own.
// It holds the deletions, keeps mirroring the rest, logs an error, writes
// <state>/<sync>/paused, and waits for `fsmirror resume` or a restart with
// --allow-mass-delete.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/safety_support.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <csignal>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::fingerprint;
using fsmirror::integration::fingerprint_changes;
using fsmirror::integration::MirrorFixture;
using fsmirror::integration::TmpfsMount;

namespace {

constexpr const char* k_guard_line = "mass-delete guard:";

void empty_directory(const fs::path& dir) {
    for (const auto& entry : fs::directory_iterator(dir))
        fs::remove_all(entry.path());
}

// Runs `remove` with the daemon stopped (SIGSTOP), so that it reads every removal at once and
// plans them as one batch. Otherwise a slow run (a sanitizer build, a loaded machine) can see
// the first removals alone: a share below the limits, rightly deleted before the guard fires,
// and the target no longer equals its state before.
template <typename Remove> void remove_while_stopped(MirrorFixture& mirror, Remove remove) {
    REQUIRE(mirror.daemon().send_signal(SIGSTOP));
    remove();
    REQUIRE(mirror.daemon().send_signal(SIGCONT));
}

fs::path paused_file(const MirrorFixture& mirror) {
    return mirror.root() / "state/sync1/paused";
}

std::vector<std::string> pair_args(const std::string& command, const MirrorFixture& mirror) {
    return {command, "--source", mirror.source().string(), "--target", mirror.target().string()};
}

// Returns the target's fingerprint without the settle markers the fixture writes.
std::map<std::string, std::string> content_of(const fs::path& target) {
    auto entries = fingerprint(target);
    std::erase_if(entries, [](const auto& entry) {
        return entry.first.empty() || entry.first.starts_with("settle-") ||
               entry.first == "after.txt";
    });
    return entries;
}

} // namespace

TEST_CASE("rm -rf of the whole source is held, everything else still mirrors, resume lets "
          "it through",
          "[integration][safety][guard]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 10, 40);
    mirror.start();
    mirror.require_mirrored();
    const auto before = content_of(mirror.target());

    remove_while_stopped(mirror, [&] { empty_directory(mirror.source()); });
    REQUIRE(mirror.daemon().wait_for_log(k_guard_line, fsmirror::test_support::k_settle_timeout));
    CHECK_THAT(mirror.log_tail(), Catch::Contains("the source root is empty") &&
                                      Catch::Contains("fsmirror resume --name sync1"));

    // Other changes are still mirrored while deletions are held.
    write_file(mirror.source() / "after.txt", "written after the wipe\n");
    REQUIRE(wait_until(
        [&] { return file_has_content(mirror.target() / "after.txt", "written after the wipe\n"); },
        k_settle_timeout));
    mirror.settle();
    INFO(fingerprint_changes(before, content_of(mirror.target())));
    CHECK(content_of(mirror.target()) == before);
    REQUIRE(fs::exists(paused_file(mirror)));
    CHECK_THAT(read_file(paused_file(mirror)), Catch::Contains("state=deletions_paused") &&
                                                   Catch::Contains("source root is empty"));

    // The operator resumes: what the source still lacks is deleted.
    CHECK(mirror.run_to_completion({"resume", "--state-dir", (mirror.root() / "state").string()}) ==
          0);
    mirror.require_mirrored();
    CHECK_FALSE(fs::exists(paused_file(mirror)));
    // And the guard watches again: a second wipe is held again.
    const auto kept = content_of(mirror.target());
    empty_directory(mirror.source());
    REQUIRE(mirror.daemon().wait_for_log("deletions planned and the source root is empty",
                                         k_settle_timeout));
    mirror.stop();
}

TEST_CASE("deleting most of the target is held, and a resume brings back nothing the source "
          "regained",
          "[integration][safety][guard]") {
    MirrorFixture mirror;
    for (const char* dir : {"keep", "drop"}) {
        fs::create_directory(mirror.source() / dir);
        make_tree(mirror.source() / dir, 5, 20);
    }
    fs::create_directory(mirror.source() / "drop/more");
    make_tree(mirror.source() / "drop/more", 5, 20);
    mirror.start();
    mirror.require_mirrored();
    const auto before = content_of(mirror.target());

    remove_while_stopped(mirror, [&] { fs::remove_all(mirror.source() / "drop"); });
    REQUIRE(mirror.daemon().wait_for_log(k_guard_line, k_settle_timeout));
    CHECK_THAT(mirror.log_tail(), Catch::Contains("max_delete_percent 50%"));
    mirror.settle();
    CHECK(content_of(mirror.target()) == before);

    // Part of it comes back before the operator acts: only the rest is deleted.
    fs::create_directory(mirror.source() / "drop");
    write_file(mirror.source() / "drop/restored.txt", "back\n");
    mirror.settle();
    REQUIRE(mirror.run_to_completion({"resume"}) == 0); // $STATE_DIRECTORY points at the state
    mirror.require_mirrored();
    CHECK(read_file(mirror.target() / "drop/restored.txt") == "back\n");
    CHECK_FALSE(exists_no_follow(mirror.target() / "drop/more"));
}

TEST_CASE("a max_delete_files overrun is held even when the share is small",
          "[integration][safety][guard]") {
    MirrorFixture mirror;
    fs::create_directory(mirror.source() / "bulk");
    make_tree(mirror.source() / "bulk", 2, 30);
    make_tree(mirror.source(), 20, 200, 2);
    mirror.start({"--max-delete-files", "10"});
    mirror.require_mirrored();
    fs::remove_all(mirror.source() / "bulk");
    REQUIRE(mirror.daemon().wait_for_log("max_delete_files 10", k_settle_timeout));
    mirror.settle();
    CHECK(fs::exists(mirror.target() / "bulk"));
}

TEST_CASE("starting on an empty source (an unmounted volume) deletes nothing",
          "[integration][safety][guard]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 6, 20);
    REQUIRE(mirror.run_to_completion(pair_args("sync", mirror)) == 0);
    const auto before = fingerprint(mirror.target());
    empty_directory(mirror.source()); // what an unmounted LUKS volume leaves behind

    // One-shot sync: exits 1 and says so.
    CHECK(mirror.run_to_completion(pair_args("sync", mirror)) == 1);
    CHECK(fingerprint(mirror.target()) == before);

    // The daemon: holds the deletions from its initial sync on.
    mirror.start();
    CHECK_THAT(mirror.log_tail(),
               Catch::Contains(k_guard_line) && Catch::Contains("deletions held"));
    mirror.stop();
    INFO(fingerprint_changes(before, fingerprint(mirror.target())));
    CHECK(fingerprint(mirror.target()) == before);

    // A restart with the explicit flag follows the source.
    CHECK(mirror.run_to_completion({"sync", "--source", mirror.source().string(), "--target",
                                    mirror.target().string(), "--allow-mass-delete"}) == 0);
    CHECK(compare_trees(mirror.source(), mirror.target()).empty());
}

TEST_CASE("unmounting a tmpfs source under the running daemon deletes nothing",
          "[integration][safety][guard][mount]") {
    MirrorFixture mirror;
    auto volume = std::make_unique<TmpfsMount>(mirror.source());
    make_tree(mirror.source(), 6, 24);
    mirror.start({"--require-mount", "source"});
    mirror.require_mirrored();
    const auto before = fingerprint(mirror.target());

    volume->unmount(); // umount -l: the daemon still holds descriptors inside it
    REQUIRE(mirror.daemon().wait_for_log("nothing is deleted on the target while it is gone",
                                         k_settle_timeout));
    REQUIRE(mirror.daemon().wait_for_log("waiting for the volume to be mounted again",
                                         k_settle_timeout));
    CHECK(fingerprint(mirror.target()) == before);

    // Mounted again, with what the volume holds now: mirroring resumes.
    volume = std::make_unique<TmpfsMount>(mirror.source());
    make_tree(mirror.source(), 6, 24);
    write_file(mirror.source() / "new-after-remount.txt", "new\n");
    REQUIRE(mirror.daemon().wait_for_log("is back", k_settle_timeout));
    REQUIRE(wait_until(
        [&] { return file_has_content(mirror.target() / "new-after-remount.txt", "new\n"); },
        k_settle_timeout));
    mirror.stop();
}

TEST_CASE("without require_mount, an unmounted source still deletes nothing",
          "[integration][safety][guard][mount]") {
    MirrorFixture mirror;
    auto volume = std::make_unique<TmpfsMount>(mirror.source());
    make_tree(mirror.source(), 6, 24);
    mirror.start();
    mirror.require_mirrored();
    const auto before = fingerprint(mirror.target());

    volume->unmount();
    REQUIRE(mirror.daemon().wait_for_log("nothing is deleted on the target while it is gone",
                                         k_settle_timeout));
    // The empty mountpoint is taken as the source again, but nothing follows it into
    // emptiness: a change there is mirrored, the missing entries are not deleted.
    REQUIRE(mirror.daemon().wait_for_log("is back", k_settle_timeout));
    write_file(mirror.source() / "on-the-root-disk.txt", "x\n");
    REQUIRE(wait_until([&] { return exists_no_follow(mirror.target() / "on-the-root-disk.txt"); },
                       k_settle_timeout));
    mirror.stop();
    auto after = fingerprint(mirror.target());
    after.erase("on-the-root-disk.txt");
    after.erase("");
    auto expected = before;
    expected.erase("");
    INFO(fingerprint_changes(expected, after));
    CHECK(after == expected);

    // A restart on it is held by the guard: one file is there, the rest is gone.
    auto args = pair_args("run", mirror);
    args.insert(args.end(), {"--delay", fsmirror::integration::k_test_delay});
    fsmirror::test_support::ChildProcess daemon(
        {[&] {
             std::vector<std::string> argv{fsmirror::integration::fsmirror_binary().string()};
             argv.insert(argv.end(), args.begin(), args.end());
             return argv;
         }(),
         mirror.root() / "restart.log", std::nullopt});
    REQUIRE(daemon.wait_for_log(k_guard_line, k_settle_timeout));
    daemon.send_signal(SIGTERM);
    REQUIRE(daemon.wait_for_exit(fsmirror::integration::k_exit_timeout) == 0);
    auto restarted = fingerprint(mirror.target());
    restarted.erase("");
    restarted.erase("on-the-root-disk.txt");
    CHECK(restarted == expected);
}
