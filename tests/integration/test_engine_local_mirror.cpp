// The engine mirroring a local tree while it changes: the real binary, real inotify, real
// files. Each test starts its own daemon on fresh directories (see mirror_fixture.hpp).

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;

namespace {

// Populates a tree with every kind of entry the initial sync must reproduce, then sets
// distinct nanosecond mtimes on all of them, directories last and deepest first (creating a
// child changes its parent's mtime).
void populate_varied_tree(const fs::path& root) {
    write_file(root / "top.txt", "top level file\n");
    write_file(root / "empty", "");
    set_mode(root / "empty", 0600);
    write_file(root / "script.sh", "#!/bin/sh\necho hi\n");
    set_mode(root / "script.sh", 0755);
    write_file(root / "setuid", "pretend program\n");
    set_mode(root / "setuid", 04755);
    write_file(root / "name with spaces & ünïcödé.txt", "odd name\n");
    write_file(root / "big.bin", make_content(1536 * 1024 + 17, 42));

    fs::create_directories(root / "a/b/c");
    write_file(root / "a/b/c/deep.txt", "deep\n");
    set_mode(root / "a/b/c/deep.txt", 0640);
    fs::create_directory(root / "a/b/empty_dir");
    fs::create_directory(root / "a/private_empty");
    set_mode(root / "a/private_empty", 0700);
    fs::create_directory(root / "shared");
    set_mode(root / "shared", 01777);

    fs::create_directory(root / "readonly_dir");
    write_file(root / "readonly_dir/readonly.txt", "cannot touch this\n");
    set_mode(root / "readonly_dir/readonly.txt", 0400);

    fs::create_directory(root / "links");
    make_symlink("../top.txt", root / "links/relative");
    make_symlink("../a/b/c/deep.txt", root / "links/nested_relative");
    make_symlink("does/not/exist", root / "links/dangling");
    make_symlink("/nonexistent/absolute/target", root / "links/absolute_dangling");
    make_symlink("../a", root / "links/to_directory");

    // Files and symlinks first, then directories from the deepest up.
    long nanoseconds = 123456789;
    std::time_t seconds = 1'600'000'000;
    auto next_time = [&] {
        nanoseconds = (nanoseconds * 7 + 13) % 1'000'000'000;
        seconds += 3607;
        return make_time(seconds, nanoseconds);
    };
    for (const char* path : {"top.txt",
                             "empty",
                             "script.sh",
                             "setuid",
                             "name with spaces & ünïcödé.txt",
                             "big.bin",
                             "a/b/c/deep.txt",
                             "readonly_dir/readonly.txt",
                             "links/relative",
                             "links/nested_relative",
                             "links/dangling",
                             "links/absolute_dangling",
                             "links/to_directory",
                             "a/b/c",
                             "a/b/empty_dir",
                             "a/private_empty",
                             "a/b",
                             "a",
                             "shared",
                             "links"})
        set_mtime(root / path, next_time());
    set_mode(root / "readonly_dir", 0555);
    set_mtime(root / "readonly_dir", next_time());
    set_mtime(root, next_time());
}

} // namespace

TEST_CASE("initial sync reproduces a varied tree exactly", "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    populate_varied_tree(mirror.source());

    mirror.start();

    mirror.require_mirrored();
    CHECK(fs::is_symlink(mirror.target() / "links/to_directory"));
    CHECK(get_mtime(mirror.target() / "top.txt").tv_nsec ==
          get_mtime(mirror.source() / "top.txt").tv_nsec);
}

TEST_CASE("initial sync of an empty source leaves an empty target",
          "[integration][engine][concurrent]") {
    MirrorFixture mirror;

    mirror.start();

    mirror.require_mirrored();
}

TEST_CASE("created and appended and deleted files are mirrored",
          "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "existing.txt", "already here\n");
    mirror.start();

    write_file(mirror.source() / "new.txt", "hello\n");
    fs::create_directory(mirror.source() / "dir");
    write_file(mirror.source() / "dir/inner.bin", make_content(200'000, 7));
    mirror.require_mirrored();

    append_file(mirror.source() / "new.txt", "more\n");
    append_file(mirror.source() / "dir/inner.bin", make_content(5000, 8));
    mirror.require_mirrored();

    fs::remove(mirror.source() / "new.txt");
    fs::remove(mirror.source() / "existing.txt");
    mirror.require_mirrored();
    CHECK_FALSE(exists_no_follow(mirror.target() / "new.txt"));
}

TEST_CASE("same-size overwrites are mirrored even when the mtime is put back",
          "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "small.txt", "AAAA");
    const std::string big = make_content(256 * 1024, 11);
    write_file(mirror.source() / "big.bin", big);
    mirror.start();

    // Same size within the same second: a second-granularity quick check would miss it.
    overwrite_file(mirror.source() / "small.txt", "BBBB");
    mirror.require_mirrored();

    // Same size and, afterwards, the very same mtime as before the write: only the events
    // tell the daemon that the content changed, and every change it learns of is transferred.
    const struct timespec small_before = get_mtime(mirror.source() / "small.txt");
    const struct timespec big_before = get_mtime(mirror.source() / "big.bin");
    overwrite_file(mirror.source() / "small.txt", "CCCC");
    std::string changed = big;
    for (std::size_t i = 100'000; i < 100'064; ++i)
        changed[i] = static_cast<char>(~changed[i]);
    overwrite_file(mirror.source() / "big.bin", changed);
    set_mtime(mirror.source() / "small.txt", small_before);
    set_mtime(mirror.source() / "big.bin", big_before);

    mirror.require_mirrored();
    CHECK(read_file(mirror.target() / "small.txt") == "CCCC");
}

TEST_CASE("truncated files are mirrored", "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "shrinks.bin", make_content(100'000, 3));
    write_file(mirror.source() / "empties.txt", "soon nothing\n");
    mirror.start();

    fs::resize_file(mirror.source() / "shrinks.bin", 1000);
    fs::resize_file(mirror.source() / "empties.txt", 0);
    mirror.require_mirrored();

    // Growing by truncate leaves a hole; the mirror must read back as zeros.
    fs::resize_file(mirror.source() / "shrinks.bin", 50'000);
    mirror.require_mirrored();
}

TEST_CASE("rm -r of a directory tree is mirrored", "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    fs::create_directory(mirror.source() / "doomed");
    make_tree(mirror.source() / "doomed", 20, 60);
    make_symlink("d000", mirror.source() / "doomed/link");
    write_file(mirror.source() / "survivor.txt", "stays\n");
    // A larger part that stays, so the deletion is ordinary work and not what a mass-delete
    // guard exists to stop (most of the target gone at once).
    fs::create_directory(mirror.source() / "ballast");
    make_tree(mirror.source() / "ballast", 20, 100);
    mirror.start();
    REQUIRE(fs::exists(mirror.target() / "doomed/d000/d001/d002"));

    fs::remove_all(mirror.source() / "doomed");

    mirror.require_mirrored();
}

TEST_CASE("chmod of files and directories is mirrored", "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    fs::create_directory(mirror.source() / "dir");
    fs::create_directory(mirror.source() / "dir/sub");
    write_file(mirror.source() / "dir/file.txt", "x\n");
    write_file(mirror.source() / "tool", "y\n");
    mirror.start();

    // chmod changes neither content nor mtime: only IN_ATTRIB says anything happened.
    set_mode(mirror.source() / "dir/file.txt", 0600);
    set_mode(mirror.source() / "tool", 0755);
    set_mode(mirror.source() / "dir/sub", 0700);
    set_mode(mirror.source() / "dir", 0750);
    mirror.require_mirrored();
    CHECK(mode_of(mirror.target() / "dir/file.txt") == 0600);
    CHECK(mode_of(mirror.target() / "dir") == 0750);
}

TEST_CASE("a file held open and written repeatedly is mirrored while still open",
          "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    mirror.start();
    const fs::path path = mirror.source() / "growing.log";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    struct CloseOnExit {
        int fd;
        ~CloseOnExit() { ::close(fd); }
    } closer{fd};

    std::string written;
    for (int round = 0; round < 3; ++round) {
        const std::string chunk = fmt::format("line {} {}\n", round, std::string(100, 'x'));
        REQUIRE(::write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size()));
        REQUIRE(::fsync(fd) == 0);
        written += chunk;
        // No IN_CLOSE_WRITE ever comes for this file: the modifications alone must suffice.
        const bool caught_up =
            wait_until([&] { return file_has_content(mirror.target() / "growing.log", written); },
                       k_settle_timeout);
        INFO("round " << round << ", daemon log:\n" << mirror.log_tail());
        REQUIRE(caught_up);
    }
    mirror.require_mirrored();
}

TEST_CASE("a storm of mkdir -p with files written right away is mirrored",
          "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    mirror.start();

    // 40 chains of 5 nested directories = 200 directories, each receiving a file right after
    // it is created, before the daemon can have put a watch on it. Even chains are made by one
    // mkdir -p, odd ones one level at a time with the file written in between.
    for (int chain = 0; chain < 40; ++chain) {
        const fs::path top = mirror.source() / "storm" / fmt::format("s{:02}", chain);
        if (chain % 2 == 0) {
            fs::create_directories(top / "a/b/c/d");
            fs::path dir = top / "a/b/c/d";
            for (int level = 4; level >= 0; --level) {
                write_file(dir / fmt::format("f{}", level), fmt::format("{} {}\n", chain, level));
                dir = dir.parent_path();
            }
        } else {
            fs::path dir = top;
            for (const char* next : {"a", "b", "c", "d", ""}) {
                fs::create_directories(dir);
                write_file(dir / "f", fmt::format("{} {}\n", chain, dir.string()));
                dir /= next;
            }
        }
    }
    mirror.require_mirrored();
}

TEST_CASE("entries replaced by another type or recreated in one batch are mirrored",
          "[integration][engine][concurrent]") {
    MirrorFixture mirror;
    const fs::path& source = mirror.source();
    write_file(source / "file_becomes_dir", "file\n");
    fs::create_directory(source / "dir_becomes_file");
    write_file(source / "dir_becomes_file/inner", "inner\n");
    write_file(source / "file_becomes_link", "file\n");
    fs::create_directories(source / "dir_recreated/sub");
    write_file(source / "dir_recreated/sub/old", "old\n");
    write_file(source / "file_recreated", "1111");
    mirror.start();

    fs::remove(source / "file_becomes_dir");
    fs::create_directory(source / "file_becomes_dir");
    write_file(source / "file_becomes_dir/child", "child\n");
    fs::remove_all(source / "dir_becomes_file");
    write_file(source / "dir_becomes_file", "now a file\n");
    fs::remove(source / "file_becomes_link");
    make_symlink("file_becomes_dir", source / "file_becomes_link");
    fs::remove_all(source / "dir_recreated");
    fs::create_directories(source / "dir_recreated/sub");
    write_file(source / "dir_recreated/sub/new", "new\n");
    fs::remove(source / "file_recreated");
    write_file(source / "file_recreated", "2222");
    mirror.require_mirrored();

    // The directories that replaced others must be watched under their reused names.
    write_file(source / "file_becomes_dir/later", "later\n");
    write_file(source / "dir_recreated/sub/later", "later\n");
    mirror.require_mirrored();
}
