// Live changes made while the initial comparison of a large tree runs: mirroring starts before
// the comparison ends, and no change is lost or undone by a comparison that looked earlier.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/file_ops.hpp"

#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;

namespace {

constexpr unsigned k_top = 200;
constexpr unsigned k_below = 100; // 200 x 100 = 20,000 directories below the top ones

fs::path top(const MirrorFixture& mirror, unsigned i) {
    return mirror.source() / fmt::format("top-{:03}", i);
}

// 20,200 directories, a file in each top directory and in every tenth below.
void build_tree(const MirrorFixture& mirror) {
    for (unsigned i = 0; i < k_top; ++i) {
        const fs::path dir = top(mirror, i);
        fs::create_directory(dir);
        write_file(dir / "file.txt", make_content(100 + i, i));
        for (unsigned j = 0; j < k_below; ++j) {
            fs::create_directory(dir / fmt::format("sub-{:03}", j));
            if (j % 10 == 0)
                write_file(dir / fmt::format("sub-{:03}/f", j), make_content(50, i * 1000 + j));
        }
    }
}

// One round of creates, deletes, renames and rewrites all over the tree.
void change_round(const MirrorFixture& mirror, unsigned round) {
    const fs::path early = top(mirror, round);
    const fs::path late = top(mirror, k_top - 1 - round);
    write_file(late / fmt::format("sub-005/new-{}.txt", round), make_content(300, round));
    fs::create_directories(mirror.source() / fmt::format("new-{}/a/b", round));
    write_file(mirror.source() / fmt::format("new-{}/a/b/deep.txt", round), "deep\n");
    fs::remove(early / "sub-010/f");
    fs::remove_all(top(mirror, 100 + round) / "sub-007");
    fs::rename(early / "sub-020/f", early / "sub-021/moved-f");
    fs::rename(top(mirror, 50 + round), mirror.source() / fmt::format("renamed-{}", round));
    overwrite_file(late / "file.txt", make_content(100 + k_top - 1 - round, 7 + round));
    // Out of the tree and back in under another name.
    fs::rename(top(mirror, 150 + round) / "sub-030", mirror.outside() / fmt::format("o-{}", round));
    fs::rename(mirror.outside() / fmt::format("o-{}", round),
               top(mirror, 160 + round) / fmt::format("arrived-{}", round));
}

} // namespace

TEST_CASE("changes made during the initial sync of 20000 directories are all mirrored",
          "[integration][engine][startup]") {
    MirrorFixture mirror;
    build_tree(mirror);
    // The target holds what the source lacks (deleted at the end of the scan) and a name the
    // source creates while the scan runs (which the end of the scan must then keep).
    fs::create_directories(mirror.target() / "stale/deep");
    write_file(mirror.target() / "stale/deep/x", "x\n");
    fs::create_directories(mirror.target() / "top-000");
    write_file(mirror.target() / "top-000/appears.txt", "the target's stale copy\n");

    // The stale target carries no marker: an existing copy adopted on purpose.
    mirror.launch({"--skip-safety"});
    auto& daemon = mirror.daemon();
    const bool started = daemon.wait_for_log("initial sync", 60s);
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(started);
    const bool finished_before_changes = daemon.count_in_log("initial sync finished") > 0;
    write_file(mirror.source() / "top-000/appears.txt", "created on the source meanwhile\n");
    for (unsigned round = 0; round < 10; ++round) {
        change_round(mirror, round);
        std::this_thread::sleep_for(50ms);
    }
    mirror.wait_for_initial_sync(100s);

    // Mirroring started while the comparison ran: a batch of live changes ran before its end.
    const std::string log = daemon.log_text();
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE_FALSE(finished_before_changes);
    const auto first_batch = log.find("running a batch");
    REQUIRE(first_batch != std::string::npos);
    CHECK(first_batch < log.find("initial sync finished"));

    mirror.require_mirrored();
    CHECK(file_has_content(mirror.target() / "top-000/appears.txt",
                           "created on the source meanwhile\n"));
    CHECK_FALSE(fs::exists(mirror.target() / "stale"));
    CHECK(mirror.run_to_completion({"verify", "--checksum", "--source", mirror.source().string(),
                                    "--target", mirror.target().string()}) == 0);
}
