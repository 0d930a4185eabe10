// Pre-flight checks through the real binary: `fsmirror check`, and `run`/`sync` refusing
// before they write anything. Mount checks use a tmpfs mounted by the test.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/monitor_fixture.hpp"
#include "tests/integration/safety_support.hpp"
#include "tests/support/file_ops.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::fingerprint;
using fsmirror::integration::fingerprint_changes;
using fsmirror::integration::MirrorFixture;
using fsmirror::integration::TmpfsMount;

namespace {

std::vector<std::string> pair_args(const std::string& command, const MirrorFixture& mirror) {
    return {command, "--source", mirror.source().string(), "--target", mirror.target().string()};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// Runs `fsmirror <args>` and returns {exit status, output}.
std::pair<int, std::string> run(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> argv{fsmirror::integration::fsmirror_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child(ChildOptions{argv, log, std::nullopt});
    auto status = child.wait_for_exit(fsmirror::integration::k_startup_timeout);
    REQUIRE(status);
    return {*status, child.log_text()};
}

} // namespace

TEST_CASE("check passes a fresh pair and reports every check", "[integration][safety][check]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 4, 10);
    auto [status, output] = run(pair_args("check", mirror), mirror.root() / "check.log");
    INFO(output);
    CHECK(status == 0);
    for (const char* check :
         {"ok      source:", "ok      target:", "ok      paths:", "ok      non-empty-target:",
          "ok      inotify-watches:", "ok      free-space:"})
        CHECK_THAT(output, Catch::Contains(check));
    CHECK_THAT(output, Catch::Contains("6 checks: 0 failed"));
    CHECK(fs::is_empty(mirror.target())); // check writes nothing
}

TEST_CASE("a non-empty target without a marker is refused by check, run and sync",
          "[integration][safety][check]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 2, 6);
    write_file(mirror.target() / "precious.db", "somebody's data\n");
    fs::create_directory(mirror.target() / "photos");
    const auto before = fingerprint(mirror.target());

    auto [check_status, check_output] = run(pair_args("check", mirror), mirror.root() / "c.log");
    INFO(check_output);
    CHECK(check_status == 1);
    // The check's name, the path, what was found and the fix.
    CHECK_THAT(check_output,
               Catch::Contains("FAILED  non-empty-target: " + mirror.target().string() +
                               ": holds 2 entries "
                               "(photos/, precious.db)"));
    CHECK_THAT(check_output, Catch::Contains("fix: choose an empty or new target directory, or "
                                             "pass --skip-safety"));

    for (const char* command : {"run", "sync"}) {
        auto [status, output] = run(pair_args(command, mirror), mirror.root() / "r.log");
        INFO(command << "\n" << output);
        CHECK(status == 1);
        CHECK_THAT(output, Catch::Contains("pre-flight check failed: non-empty-target"));
        CHECK_THAT(output, Catch::Contains("nothing was written"));
    }
    INFO(fingerprint_changes(before, fingerprint(mirror.target())));
    CHECK(fingerprint(mirror.target()) == before);
}

TEST_CASE("the --skip-safety flag and FSMIRROR_SKIP_SAFETY=true allow a non-empty target",
          "[integration][safety][check]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 2, 6);
    write_file(mirror.target() / "stale.txt", "replaced by the mirror\n");
    CHECK(mirror.run_to_completion(with(pair_args("sync", mirror), {"--skip-safety"})) == 0);
    CHECK(compare_trees(mirror.source(), mirror.target()).empty());
    CHECK(fs::is_regular_file(mirror.target() / ".fsmirror"));

    MirrorFixture other;
    make_tree(other.source(), 2, 6);
    write_file(other.target() / "stale.txt", "replaced by the mirror\n");
    ::setenv("FSMIRROR_SKIP_SAFETY", "true", 1);
    auto [status, output] = run(pair_args("sync", other), other.root() / "env.log");
    ::unsetenv("FSMIRROR_SKIP_SAFETY");
    INFO(output);
    CHECK(status == 0);
    CHECK(compare_trees(other.source(), other.target()).empty());
}

TEST_CASE("the marker lets fsmirror restart on its own mirror, and only on it",
          "[integration][safety][check]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 3, 9);
    REQUIRE(mirror.run_to_completion(pair_args("sync", mirror)) == 0);
    const std::string marker = read_file(mirror.target() / ".fsmirror");
    CHECK_THAT(marker, Catch::Contains("source=" + mirror.source().string()));

    // A restart (of sync or run) passes the non-empty check and leaves the marker alone.
    append_file(mirror.source() / "f000", "more\n");
    CHECK(mirror.run_to_completion(pair_args("sync", mirror)) == 0);
    mirror.start();
    mirror.require_mirrored();
    mirror.stop();
    CHECK(read_file(mirror.target() / ".fsmirror") == marker);

    // Another source may not take the mirror over without --skip-safety.
    const fs::path intruder = mirror.root() / "intruder";
    fs::create_directory(intruder);
    write_file(intruder / "x", "x\n");
    auto [status, output] =
        run({"check", "--source", intruder.string(), "--target", mirror.target().string()},
            mirror.root() / "i.log");
    INFO(output);
    CHECK(status == 1);
    CHECK_THAT(output, Catch::Contains("marker says it mirrors " + mirror.source().string() +
                                       ", not " + intruder.string()));
}

TEST_CASE("an operator-made .fsmirror directory marks a target too",
          "[integration][safety][check]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 2, 4);
    fs::create_directory(mirror.target() / ".fsmirror");
    write_file(mirror.target() / "old.txt", "from the previous mirror tool\n");
    CHECK(mirror.run_to_completion(pair_args("sync", mirror)) == 0);
    CHECK(fs::is_directory(mirror.target() / ".fsmirror"));
    CHECK_FALSE(exists_no_follow(mirror.target() / "old.txt"));
    CHECK(compare_trees(mirror.source(), mirror.target()).empty());
}

TEST_CASE("a source's own .fsmirror is not mirrored over the target's marker",
          "[integration][safety][check]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "data.txt", "data\n");
    write_file(mirror.source() / ".fsmirror", "source=/the/primary\n"); // it was a mirror once
    REQUIRE(mirror.run_to_completion(pair_args("sync", mirror)) == 0);
    CHECK_THAT(read_file(mirror.target() / ".fsmirror"),
               Catch::Contains("source=" + mirror.source().string()));
    mirror.start();
    write_file(mirror.source() / ".fsmirror", "source=/changed\n");
    fs::remove(mirror.source() / ".fsmirror");
    write_file(mirror.source() / "more.txt", "more\n");
    mirror.settle();
    CHECK_THAT(read_file(mirror.target() / ".fsmirror"),
               Catch::Contains("source=" + mirror.source().string()));
    CHECK(read_file(mirror.target() / "more.txt") == "more\n");
}

TEST_CASE("overlapping and system paths are refused even with --skip-safety",
          "[integration][safety][check]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a", "a\n");
    fs::create_directory(mirror.source() / "inner");
    const std::vector<std::pair<std::string, std::string>> pairs = {
        {mirror.source().string(), mirror.source().string()},
        {mirror.source().string(), (mirror.source() / "inner").string()},
        {(mirror.source() / "inner").string(), mirror.source().string()},
        {mirror.source().string(), "/"},
        {mirror.source().string(), "/etc"},
    };
    for (const auto& [source, target] : pairs) {
        for (const char* command : {"check", "sync"}) {
            auto [status, output] =
                run({command, "--source", source, "--target", target, "--skip-safety"},
                    mirror.root() / "o.log");
            INFO(command << " " << source << " -> " << target << "\n" << output);
            CHECK(status == 1);
            CHECK_THAT(output, Catch::Contains("paths: "));
        }
    }
    CHECK(fs::is_empty(mirror.source() / "inner"));
}

TEST_CASE("a missing source and an unreachable target are refused with the fix",
          "[integration][safety][check]") {
    MirrorFixture mirror;
    auto [status, output] = run({"check", "--source", (mirror.root() / "nope").string(), "--target",
                                 (mirror.root() / "no/parent/either").string()},
                                mirror.root() / "m.log");
    INFO(output);
    CHECK(status == 1);
    CHECK_THAT(output, Catch::Contains("FAILED  source: " + (mirror.root() / "nope").string() +
                                       ": cannot be read: No such file or directory; fix: "));
    CHECK_THAT(output,
               Catch::Contains("FAILED  target: ") && Catch::Contains("neither does its parent"));
}

TEST_CASE("require_mount refuses a plain directory and accepts a mounted tmpfs",
          "[integration][safety][check][mount]") {
    MirrorFixture mirror;
    auto [plain_status, plain] =
        run(with(pair_args("check", mirror), {"--require-mount", "both"}), mirror.root() / "p.log");
    INFO(plain);
    CHECK(plain_status == 1);
    CHECK_THAT(plain, Catch::Contains("FAILED  source-mount: " + mirror.source().string() +
                                      ": require_mount is set but the source is not a mount "
                                      "point"));
    CHECK_THAT(plain, Catch::Contains("FAILED  target-mount: "));

    // An unmounted volume leaves an empty directory: sync from it must not start.
    auto [sync_status, sync_output] = run(
        with(pair_args("sync", mirror), {"--require-mount", "source"}), mirror.root() / "s.log");
    INFO(sync_output);
    CHECK(sync_status == 1);

    TmpfsMount source_volume(mirror.source());
    TmpfsMount target_volume(mirror.target());
    make_tree(mirror.source(), 3, 8);
    auto [status, output] =
        run(with(pair_args("check", mirror), {"--require-mount", "both"}), mirror.root() / "m.log");
    INFO(output);
    CHECK(status == 0);
    CHECK_THAT(output, Catch::Contains("ok      source-mount: ") &&
                           Catch::Contains("ok      target-mount: "));
    CHECK(mirror.run_to_completion(with(pair_args("sync", mirror), {"--require-mount", "both"})) ==
          0);
    CHECK(compare_trees(mirror.source(), mirror.target()).empty());
}

TEST_CASE("a target too small for the initial sync is refused", "[integration][safety][check]") {
    MirrorFixture mirror;
    for (int i = 0; i < 4; ++i)
        write_file(mirror.source() / ("big" + std::to_string(i)), make_content(1 << 20, i));
    TmpfsMount small(mirror.target(), "size=2m");
    auto [status, output] = run(pair_args("check", mirror), mirror.root() / "f.log");
    INFO(output);
    CHECK(status == 1);
    CHECK_THAT(output, Catch::Contains("FAILED  free-space: " + mirror.target().string()) &&
                           Catch::Contains("df -h"));
    CHECK(mirror.run_to_completion(pair_args("sync", mirror)) == 1);
    CHECK(fs::is_empty(mirror.target()));
}

TEST_CASE("check stops counting a tree that fanotify will watch and counts one inotify watches",
          "[integration][safety][check]") {
    if (auto unavailable = fsmirror::integration::fanotify_unavailable(fs::temp_directory_path()))
        fsmirror::integration::skip_test(*unavailable);
    MirrorFixture mirror;
    // Past `auto`'s threshold (50,000, engine/event_source.hpp): 100 x 501 + 101 directories.
    for (int top = 0; top < 100; ++top)
        for (int inner = 0; inner < 501; ++inner)
            fs::create_directories(mirror.source() / fmt::format("t{:03}/d{:03}", top, inner));
    // A target whose free space settles the space check without reading file sizes: what is
    // left to count is watches alone.
    TmpfsMount roomy(mirror.target(), "size=1t");

    auto [auto_status, auto_output] =
        run(with(pair_args("check", mirror), {"--events", "auto"}), mirror.root() / "auto.log");
    INFO(auto_output);
    CHECK(auto_status == 0);
    CHECK_THAT(auto_output, Catch::Contains("ok      inotify-watches: " + mirror.source().string() +
                                            ": more than 50000 directories: fanotify watches"));
    CHECK_THAT(auto_output, Catch::Contains("ok      free-space:"));

    auto [fanotify_status, fanotify_output] =
        run(with(pair_args("check", mirror), {"--events", "fanotify"}), mirror.root() / "fan.log");
    INFO(fanotify_output);
    CHECK(fanotify_status == 0);
    CHECK_THAT(fanotify_output, !Catch::Contains("inotify-watches"));

    auto [inotify_status, inotify_output] =
        run(with(pair_args("check", mirror), {"--events", "inotify"}), mirror.root() / "ino.log");
    INFO(inotify_output);
    CHECK_THAT(inotify_output, Catch::Contains("50201 directories to watch"));
    CHECK(fs::is_empty(mirror.target()));
}
