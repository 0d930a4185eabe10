// --dry-run prints every action and changes nothing: the target is byte- and mtime-identical
// afterwards, marker and temp files included.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/safety_support.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::fingerprint;
using fsmirror::integration::fingerprint_changes;
using fsmirror::integration::MirrorFixture;

namespace {

std::vector<std::string> sync_args(const MirrorFixture& mirror,
                                   const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"sync", "--source", mirror.source().string(), "--target",
                                  mirror.target().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string run_dry(MirrorFixture& mirror, const std::vector<std::string>& args, int expected) {
    std::vector<std::string> argv{fsmirror::integration::fsmirror_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child(ChildOptions{argv, mirror.root() / "dry.log", std::nullopt});
    auto status = child.wait_for_exit(fsmirror::integration::k_startup_timeout);
    INFO(child.log_text());
    REQUIRE(status);
    CHECK(*status == expected);
    return child.log_text();
}

} // namespace

TEST_CASE("sync --dry-run lists every action and leaves the target untouched",
          "[integration][safety][dry-run]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 4, 12);
    write_file(mirror.source() / "changed.bin", make_content(200'000, 1));
    write_file(mirror.source() / "removed.txt", "removed later\n");
    write_file(mirror.source() / "mode.txt", "mode\n");
    REQUIRE(mirror.run_to_completion(sync_args(mirror)) == 0);

    fs::create_directory(mirror.source() / "newdir");
    write_file(mirror.source() / "newdir/file.txt", "twelve bytes");
    write_file(mirror.source() / "changed.bin", make_content(200'000, 2));
    fs::remove(mirror.source() / "removed.txt");
    set_mode(mirror.source() / "mode.txt", 0600);
    make_symlink("mode.txt", mirror.source() / "newlink");
    write_file(mirror.target() / ".fsmirror-0123456789abcdef.tmp", "a daemon's temp file");
    const auto before = fingerprint(mirror.target());

    const std::string output = run_dry(mirror, sync_args(mirror, {"--dry-run"}), 0);
    for (const char* action : {"sync1: dry-run: mkdir /newdir (mode 0755)",
                               "sync1: dry-run: copy /newdir/file.txt (12 bytes)",
                               "sync1: dry-run: delta /changed.bin (200000 bytes",
                               "sync1: dry-run: delete /removed.txt (file)",
                               "sync1: dry-run: chmod /mode.txt (mode 0644 -> 0600",
                               "sync1: dry-run: symlink /newlink -> mode.txt"})
        CHECK_THAT(output, Catch::Contains(action));
    INFO(fingerprint_changes(before, fingerprint(mirror.target())));
    CHECK(fingerprint(mirror.target()) == before);

    // The real run does what the dry run said.
    REQUIRE(mirror.run_to_completion(sync_args(mirror)) == 0);
    CHECK(compare_trees(mirror.source(), mirror.target()).empty());
}

TEST_CASE("a dry run writes neither a missing target nor a marker, and shows what a "
          "non-empty target would lose",
          "[integration][safety][dry-run]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 2, 5);
    const fs::path missing = mirror.root() / "not-yet";
    std::string output = run_dry(
        mirror,
        {"sync", "--source", mirror.source().string(), "--target", missing.string(), "--dry-run"},
        0);
    CHECK_THAT(output, Catch::Contains("dry-run: mkdir local:" + missing.string()));
    CHECK_THAT(output, Catch::Contains("dry-run: copy /f000"));
    CHECK_FALSE(exists_no_follow(missing));

    write_file(mirror.target() / "theirs.txt", "somebody's data\n");
    const auto before = fingerprint(mirror.target());
    output = run_dry(mirror, sync_args(mirror, {"--dry-run"}), 0);
    CHECK_THAT(output, Catch::Contains("a real run would refuse it"));
    CHECK_THAT(output, Catch::Contains("dry-run: delete /theirs.txt (file)"));
    CHECK(fingerprint(mirror.target()) == before);
    CHECK_FALSE(exists_no_follow(mirror.target() / ".fsmirror"));
}

TEST_CASE("run --dry-run prints the actions of live changes, renames included, and changes "
          "nothing",
          "[integration][safety][dry-run]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 3, 9);
    write_file(mirror.source() / "old-name.txt", "renamed while running\n");
    REQUIRE(mirror.run_to_completion(sync_args(mirror)) == 0);
    const auto before = fingerprint(mirror.target());

    mirror.start({"--dry-run"});
    fs::rename(mirror.source() / "old-name.txt", mirror.source() / "new-name.txt");
    write_file(mirror.source() / "live.txt", "live\n");
    fs::remove(mirror.source() / "f000");
    for (const char* action : {"dry-run: rename /old-name.txt -> /new-name.txt",
                               "dry-run: copy /live.txt (5 bytes)", "dry-run: delete /f000"})
        CHECK(mirror.daemon().wait_for_log(action, k_settle_timeout));
    mirror.stop();
    INFO(fingerprint_changes(before, fingerprint(mirror.target())));
    CHECK(fingerprint(mirror.target()) == before);
    CHECK_FALSE(fs::exists(mirror.root() / "state"));
}
