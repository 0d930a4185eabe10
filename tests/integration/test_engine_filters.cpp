// Excludes and delete modes: what the daemon must leave alone on the target.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;

TEST_CASE("excluded files never reach the target and excluded target files survive",
          "[integration][engine][exclude]") {
    MirrorFixture mirror;
    const fs::path& source = mirror.source();
    const fs::path& target = mirror.target();
    write_file(source / "kept.txt", "kept\n");
    write_file(source / "scratch.tmp", "excluded by *.tmp\n");
    write_file(source / "notes.tmp.txt", "not excluded: *.tmp matches the whole name\n");
    fs::create_directories(source / "sub/cache");
    write_file(source / "sub/deep.tmp", "excluded by *.tmp at any depth\n");
    write_file(source / "sub/cache/data", "not excluded: /cache/ is anchored at the root\n");
    fs::create_directory(source / "cache");
    write_file(source / "cache/blob", "excluded by /cache/\n");
    // Excluded entries already on the target are not the daemon's to delete (as rsync
    // without --delete-excluded).
    write_file(target / "precious.tmp", "excluded, exists only on the target\n");
    fs::create_directory(target / "cache");
    write_file(target / "cache/old", "inside an excluded directory on the target\n");

    mirror.start({"--exclude", "*.tmp", "--exclude", "/cache/"});

    CompareOptions options;
    options.ignored = {"scratch.tmp",  "sub/deep.tmp", "cache",
                       "precious.tmp", "later.tmp",    "sub/later.tmp"};
    mirror.require_mirrored(options);
    CHECK_FALSE(exists_no_follow(target / "scratch.tmp"));
    CHECK_FALSE(exists_no_follow(target / "sub/deep.tmp"));
    CHECK_FALSE(exists_no_follow(target / "cache/blob"));
    CHECK(exists_no_follow(target / "sub/cache/data"));
    CHECK(exists_no_follow(target / "precious.tmp"));
    CHECK(exists_no_follow(target / "cache/old"));

    // While running: excluded changes first, then an included one in the same directory, so
    // the directory mtimes to compare are the ones the included change carries over.
    write_file(source / "later.tmp", "excluded\n");
    write_file(source / "sub/later.tmp", "excluded\n");
    write_file(source / "cache/later", "excluded\n");
    append_file(source / "cache/blob", "excluded\n");
    write_file(source / "later.txt", "included\n");
    write_file(source / "sub/later.txt", "included\n");
    mirror.require_mirrored(options);
    mirror.settle();
    CHECK_FALSE(exists_no_follow(target / "later.tmp"));
    CHECK_FALSE(exists_no_follow(target / "sub/later.tmp"));
    CHECK_FALSE(exists_no_follow(target / "cache/later"));
    CHECK_FALSE(exists_no_follow(target / "cache/blob"));
    CHECK(exists_no_follow(target / "precious.tmp"));
    CHECK(exists_no_follow(target / "cache/old"));
}

TEST_CASE("delete mode false keeps target files whose source is gone",
          "[integration][engine][delete]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a.txt", "a\n");
    write_file(mirror.source() / "b.txt", "b\n");
    write_file(mirror.target() / "extra.txt", "only on the target\n");

    mirror.start({"--delete", "false"});

    CompareOptions options;
    options.ignored = {"extra.txt", "a.txt"};
    options.directory_mtimes = false; // the target root holds more than the source's
    mirror.require_mirrored(options);
    CHECK(read_file(mirror.target() / "extra.txt") == "only on the target\n");
    CHECK(read_file(mirror.target() / "a.txt") == "a\n");

    fs::remove(mirror.source() / "a.txt");
    write_file(mirror.source() / "c.txt", "c\n");
    mirror.require_mirrored(options);
    mirror.settle();
    CHECK(read_file(mirror.target() / "a.txt") == "a\n");
    CHECK(read_file(mirror.target() / "extra.txt") == "only on the target\n");
}

TEST_CASE("delete mode startup removes extras at startup only", "[integration][engine][delete]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a.txt", "a\n");
    write_file(mirror.source() / "b.txt", "b\n");
    write_file(mirror.target() / "extra.txt", "only on the target\n");
    fs::create_directories(mirror.target() / "extra_dir/sub");
    write_file(mirror.target() / "extra_dir/sub/file", "only on the target\n");

    mirror.start({"--delete", "startup"});

    mirror.require_mirrored();
    CHECK_FALSE(exists_no_follow(mirror.target() / "extra.txt"));
    CHECK_FALSE(exists_no_follow(mirror.target() / "extra_dir"));

    fs::remove(mirror.source() / "a.txt");
    mirror.settle();
    CHECK(read_file(mirror.target() / "a.txt") == "a\n");
    CompareOptions options;
    options.ignored = {"a.txt"};
    options.directory_mtimes = false;
    mirror.require_mirrored(options);
}

TEST_CASE("delete mode running keeps startup extras and mirrors later deletions",
          "[integration][engine][delete]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a.txt", "a\n");
    write_file(mirror.source() / "b.txt", "b, keeps the source root from becoming empty\n");
    write_file(mirror.target() / "extra.txt", "only on the target\n");

    mirror.start({"--delete", "running"});

    CompareOptions options;
    options.ignored = {"extra.txt"};
    options.directory_mtimes = false;
    mirror.require_mirrored(options);
    CHECK(exists_no_follow(mirror.target() / "extra.txt"));

    fs::remove(mirror.source() / "a.txt");
    mirror.require_mirrored(options);
    CHECK_FALSE(exists_no_follow(mirror.target() / "a.txt"));
    CHECK(exists_no_follow(mirror.target() / "extra.txt"));
}
