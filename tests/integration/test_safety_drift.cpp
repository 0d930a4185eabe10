// Drift repair (verify_interval): damage done to the target behind the daemon's back is found
// by the periodic comparison and repaired, each repair logged.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;

TEST_CASE("drift on the target is repaired and logged", "[integration][safety][drift]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 6, 30);
    write_file(mirror.source() / "same-size.bin", make_content(100'000, 4));
    for (const char* name : {"gone.txt", "mode.txt", "size.txt"})
        write_file(mirror.source() / name, std::string(name) + "\n");
    mirror.start({"--verify-interval", "0.5", "--verify-checksum"});
    mirror.require_mirrored();

    const fs::path& t = mirror.target();
    fs::remove(t / "gone.txt");                        // missing
    write_file(t / "intruder.txt", "not mirrored\n");  // extra
    set_mode(t / "mode.txt", 0600);                    // mode
    append_file(t / "size.txt", "grown\n");            // size
    const auto mtime = get_mtime(t / "same-size.bin"); // content, same size and mtime
    auto damaged = make_content(100'000, 4);
    damaged[99] ^= 1;
    overwrite_file(t / "same-size.bin", damaged);
    set_mtime(t / "same-size.bin", mtime);

    mirror.require_mirrored();
    for (const char* line : {"drift repair: missing /gone.txt", "drift repair: extra /intruder.txt",
                             "drift repair: mode /mode.txt", "drift repair: size /size.txt",
                             "drift repair: content /same-size.bin"})
        CHECK_THAT(mirror.daemon().log_text(), Catch::Contains(line));
    mirror.stop();
}

TEST_CASE("drift repair under delete=running restores what is missing and keeps extras",
          "[integration][safety][drift]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "kept.txt", "kept\n");
    write_file(mirror.source() / "other.txt", "other\n");
    write_file(mirror.target() / "startup-extra.txt", "only on the target\n");
    mirror.start({"--delete", "running", "--skip-safety", "--verify-interval", "0.5"});
    CompareOptions options;
    options.ignored = {"startup-extra.txt"};
    options.directory_mtimes = false;
    mirror.require_mirrored(options);

    fs::remove(mirror.target() / "kept.txt");
    mirror.require_mirrored(options);
    CHECK(exists_no_follow(mirror.target() / "startup-extra.txt"));
    CHECK_THAT(mirror.daemon().log_text(), Catch::Contains("drift repair: missing /kept.txt"));
    CHECK_THAT(mirror.daemon().log_text(), !Catch::Contains("drift repair: extra"));
    mirror.stop();
}

TEST_CASE("drift repair is off by default", "[integration][safety][drift]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 2, 6);
    mirror.start();
    mirror.require_mirrored();
    fs::remove(mirror.target() / "f000");
    mirror.settle();
    CHECK_FALSE(exists_no_follow(mirror.target() / "f000"));
    CHECK_THAT(mirror.daemon().log_text(), !Catch::Contains("drift"));
}
