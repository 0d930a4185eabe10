// Renames and moves: a rename on the source must be a rename on the target (the inode of the
// mirrored file survives, no data is copied again), and moves across the tree's boundary turn
// into deletions and copies.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <csignal>
#include <filesystem>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;

TEST_CASE("renaming a file renames it on the target", "[integration][engine][rename]") {
    MirrorFixture mirror;
    fs::create_directory(mirror.source() / "dir");
    write_file(mirror.source() / "dir/file.txt", make_content(50'000, 1));
    mirror.start();
    const HeldFile before(mirror.target() / "dir/file.txt");

    fs::rename(mirror.source() / "dir/file.txt", mirror.source() / "dir/renamed.txt");

    mirror.require_mirrored();
    CHECK(inode_of(mirror.target() / "dir/renamed.txt") == before.inode());
}

TEST_CASE("renaming a directory renames it on the target and keeps watching it",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    fs::create_directories(mirror.source() / "old/sub");
    write_file(mirror.source() / "old/one.txt", "one\n");
    write_file(mirror.source() / "old/sub/two.bin", make_content(30'000, 2));
    mirror.start();
    const HeldFile before(mirror.target() / "old/sub/two.bin");

    fs::rename(mirror.source() / "old", mirror.source() / "new");
    mirror.require_mirrored();
    CHECK(inode_of(mirror.target() / "new/sub/two.bin") == before.inode());

    // Watches set up under the old name must now report the new path.
    write_file(mirror.source() / "new/sub/three.txt", "three\n");
    append_file(mirror.source() / "new/one.txt", "more\n");
    mirror.require_mirrored();
}

TEST_CASE("moving a file to another directory moves it on the target",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    fs::create_directories(mirror.source() / "from");
    fs::create_directories(mirror.source() / "to/deeper");
    write_file(mirror.source() / "from/file.bin", make_content(40'000, 3));
    mirror.start();
    const HeldFile before(mirror.target() / "from/file.bin");

    fs::rename(mirror.source() / "from/file.bin", mirror.source() / "to/deeper/file.bin");

    mirror.require_mirrored();
    CHECK(inode_of(mirror.target() / "to/deeper/file.bin") == before.inode());
}

TEST_CASE("renaming over an existing file replaces it on the target",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a.txt", "the new contents\n");
    write_file(mirror.source() / "b.txt", "the old contents, to be replaced\n");
    mirror.start();
    const HeldFile before(mirror.target() / "a.txt");

    fs::rename(mirror.source() / "a.txt", mirror.source() / "b.txt");

    mirror.require_mirrored();
    CHECK(inode_of(mirror.target() / "b.txt") == before.inode());
    CHECK(read_file(mirror.target() / "b.txt") == "the new contents\n");
}

TEST_CASE("swapping two files through a third name within one batch is mirrored",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "left", "left contents\n");
    write_file(mirror.source() / "right", "right contents, longer\n");
    mirror.start();

    fs::rename(mirror.source() / "left", mirror.source() / "swap");
    fs::rename(mirror.source() / "right", mirror.source() / "left");
    fs::rename(mirror.source() / "swap", mirror.source() / "right");

    mirror.require_mirrored();
}

TEST_CASE("a renamed file written again right away is mirrored", "[integration][engine][rename]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "draft.txt", "first\n");
    mirror.start();

    fs::rename(mirror.source() / "draft.txt", mirror.source() / "final.txt");
    append_file(mirror.source() / "final.txt", "second\n");

    mirror.require_mirrored();
}

TEST_CASE("moving a directory out of the tree deletes it on the target",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    fs::create_directory(mirror.source() / "leaving");
    make_tree(mirror.source() / "leaving", 10, 30);
    // What stays keeps the deletion a minority of the tree (see the mass-delete guard).
    fs::create_directory(mirror.source() / "ballast");
    make_tree(mirror.source() / "ballast", 10, 60);
    mirror.start();
    REQUIRE(fs::exists(mirror.target() / "leaving/d000"));

    fs::rename(mirror.source() / "leaving", mirror.outside() / "leaving");

    mirror.require_mirrored();

    // The moved tree must no longer be watched: changes out there stay out there.
    write_file(mirror.outside() / "leaving/d000/after.txt", "not mirrored\n");
    mirror.settle();
    CHECK_FALSE(exists_no_follow(mirror.target() / "leaving"));
}

TEST_CASE("moving a directory into the tree copies it to the target",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    mirror.start();
    fs::create_directory(mirror.outside() / "arriving");
    make_tree(mirror.outside() / "arriving", 15, 40);
    make_symlink("d000/f001", mirror.outside() / "arriving/link");

    fs::rename(mirror.outside() / "arriving", mirror.source() / "arriving");
    mirror.require_mirrored();

    // Directories that arrived by a move must be watched like any other.
    write_file(mirror.source() / "arriving/d000/d001/new.txt", "new\n");
    mirror.require_mirrored();
}

// The daemon is stopped (SIGSTOP) while the source changes, so it reads the events only after
// later renames made the paths they name stale: the race a busy source produces, on demand.
TEST_CASE("a directory made in a parent renamed before the daemon read the event is watched",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    fs::create_directory(mirror.source() / "a");
    write_file(mirror.source() / "keep", "keep\n");
    mirror.start();

    REQUIRE(mirror.daemon().send_signal(SIGSTOP));
    fs::create_directory(mirror.source() / "a/b");
    fs::rename(mirror.source() / "a", mirror.source() / "z");
    REQUIRE(mirror.daemon().send_signal(SIGCONT));
    mirror.require_mirrored();

    // Only a watch on z/b sees this.
    write_file(mirror.source() / "z/b/later.txt", "written after the rename\n");
    mirror.require_mirrored();
}

TEST_CASE("content written through a hard link that is then renamed and removed reaches the "
          "other name",
          "[integration][engine][rename]") {
    // With fanotify the write is read as being in the renamed directory ("c/two") before the
    // rename b -> c itself; the queue once dropped it as describing what the rename replaced.
    MirrorFixture mirror;
    fs::create_directories(mirror.source() / "a");
    fs::create_directories(mirror.source() / "b");
    write_file(mirror.source() / "a/one", make_content(4096, 1));
    fs::create_hard_link(mirror.source() / "a/one", mirror.source() / "b/two");
    mirror.start();

    REQUIRE(mirror.daemon().send_signal(SIGSTOP));
    // Same size and old mtime: no comparison by size and mtime can see it.
    const auto mtime = get_mtime(mirror.source() / "b/two");
    overwrite_file(mirror.source() / "b/two", make_content(4096, 2));
    set_mtime(mirror.source() / "b/two", mtime);
    fs::rename(mirror.source() / "b", mirror.source() / "c");
    fs::remove(mirror.source() / "c/two");
    REQUIRE(mirror.daemon().send_signal(SIGCONT));

    mirror.require_mirrored();
}

TEST_CASE("a same-size rewrite keeping the mtime and then its directory renamed reaches the target",
          "[integration][engine][rename]") {
    MirrorFixture mirror;
    fs::create_directories(mirror.source() / "b");
    write_file(mirror.source() / "b/file", make_content(4096, 1));
    mirror.start();

    REQUIRE(mirror.daemon().send_signal(SIGSTOP));
    const auto mtime = get_mtime(mirror.source() / "b/file");
    overwrite_file(mirror.source() / "b/file", make_content(4096, 2));
    set_mtime(mirror.source() / "b/file", mtime);
    fs::rename(mirror.source() / "b", mirror.source() / "c");
    REQUIRE(mirror.daemon().send_signal(SIGCONT));

    mirror.require_mirrored();
}

TEST_CASE("a hard link made in a directory renamed before the events were read is known by its "
          "new name",
          "[integration][engine][rename]") {
    // SSH seed 160112: the link's creation was read after its directory's rename, so the name
    // it was looked up by was already gone; written through and removed later, it changed the
    // other name with no event naming it.
    MirrorFixture mirror;
    fs::create_directories(mirror.source() / "a");
    fs::create_directories(mirror.source() / "b");
    write_file(mirror.source() / "a/one", make_content(4096, 1));
    mirror.start({"--delay", "3"});

    REQUIRE(mirror.daemon().send_signal(SIGSTOP));
    fs::create_hard_link(mirror.source() / "a/one", mirror.source() / "b/two");
    fs::rename(mirror.source() / "b", mirror.source() / "c");
    REQUIRE(mirror.daemon().send_signal(SIGCONT));
    // Both events are read together; the batch holding them waits out the delay, so the
    // write and the removal below happen before it runs.
    REQUIRE(mirror.daemon().wait_for_log("event moved /c/ from /b", k_settle_timeout));
    REQUIRE(mirror.daemon().send_signal(SIGSTOP));
    const auto mtime = get_mtime(mirror.source() / "c/two");
    overwrite_file(mirror.source() / "c/two", make_content(4096, 2));
    set_mtime(mirror.source() / "c/two", mtime);
    fs::remove(mirror.source() / "c/two");
    REQUIRE(mirror.daemon().send_signal(SIGCONT));

    mirror.require_mirrored();
}

TEST_CASE("a hard link made in a new directory before its watch, written through and removed "
          "before its comparison, reaches the other name",
          "[integration][engine][rename]") {
    // SSH seed 180048: `mkdir -p n/d; ln one n/d/c3`, a write through c3 (same size, old mtime)
    // before the daemon had read the creation of n, so no event named c3; the name was
    // removed after that creation was read and before the batch comparing n ran.
    MirrorFixture mirror;
    write_file(mirror.source() / "one", make_content(4096, 1));
    mirror.start({"--delay", "3"});

    REQUIRE(mirror.daemon().send_signal(SIGSTOP));
    fs::create_directories(mirror.source() / "n/d");
    fs::create_hard_link(mirror.source() / "one", mirror.source() / "n/d/c3");
    const auto mtime = get_mtime(mirror.source() / "one");
    overwrite_file(mirror.source() / "n/d/c3", make_content(4096, 2));
    set_mtime(mirror.source() / "n/d/c3", mtime);
    REQUIRE(mirror.daemon().send_signal(SIGCONT));
    // The creation of n is read and n watched; the batch comparing n waits out the delay, so
    // the removal below happens before it runs.
    REQUIRE(mirror.daemon().wait_for_log("event created /n/", k_settle_timeout));
    fs::remove(mirror.source() / "n/d/c3");

    mirror.require_mirrored();
}
