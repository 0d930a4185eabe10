// Choosing the event source: `auto` and the log line that says which one runs and why. (Every
// engine test also runs against fanotify, see tests/CMakeLists.txt; these run once.)

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;

TEST_CASE("auto watches a small tree with inotify and says why", "[integration][events]") {
    MirrorFixture mirror;
    fs::create_directories(mirror.source() / "a/b");
    write_file(mirror.source() / "a/b/file.txt", "small\n");
    mirror.start({"--events", "auto"});
    CHECK_THAT(mirror.log_tail(),
               Catch::Contains("events from inotify (events: auto; a tree of 3 directories or "
                               "fewer, a large one has more than 50000)"));
    write_file(mirror.source() / "a/later.txt", "watched\n");
    mirror.require_mirrored();
    mirror.stop();
}
