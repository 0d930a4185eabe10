// StartupScan on real temp directories: the streamed, parallel initial comparison.

#include "engine/startup_scan.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/unit/tree_mirror_harness.hpp"

#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::engine;

namespace {

// The TreeMirror fixture, plus the scan and a tree to give it.
struct Harness : test_support::TreeMirrorHarness {
    std::unique_ptr<StartupScan> scan(unsigned threads = 2) {
        return std::make_unique<StartupScan>(*tree, *transport, *mirror, pool, logger,
                                             StartupScanOptions{threads, true, nullptr});
    }

    // `width` directories on each of `depth` levels below the root, one file in each (whose
    // content starts with `tag`: the file system's coarse clock may give a stale copy made
    // right after the source the same mtime, so its size tells them apart).
    void make_tree(const fs::path& root, unsigned width, unsigned depth,
                   const std::string& tag = "") {
        std::vector<fs::path> level{root};
        for (unsigned d = 0; d < depth; ++d) {
            std::vector<fs::path> next;
            for (const auto& parent : level)
                for (unsigned i = 0; i < width; ++i) {
                    auto child = parent / fmt::format("d{}", i);
                    fs::create_directory(child);
                    test_support::write_file(child / "f", tag + child.string());
                    next.push_back(child);
                }
            level = std::move(next);
        }
    }
};

} // namespace

TEST_CASE("a startup scan mirrors a tree with memory bounded by its depth and width",
          "[engine][startup_scan]") {
    Harness h;
    h.make_tree(h.source, 10, 3); // 1,110 directories and as many files
    h.open();
    auto scan = h.scan();
    REQUIRE(scan->start());
    scan->wait();
    REQUIRE(scan->finished());
    auto report = scan->take_report();
    CHECK(report.failed.empty());
    CHECK(scan->take_extras().empty());
    const auto totals = scan->totals();
    CHECK(totals.directories == 1111);
    CHECK(totals.created == 2220);
    // A stack of siblings per level, not the tree: at most about depth x width wait at once.
    CHECK(totals.peak_waiting <= 3 * 10 + 2 * 10);
    CHECK(test_support::compare_trees(h.source, h.target, {}).empty());
}

TEST_CASE("a startup scan collects target-only entries without deleting them",
          "[engine][startup_scan]") {
    Harness h;
    h.make_tree(h.source, 3, 2);
    h.make_tree(h.target, 3, 2, "stale ");
    test_support::write_file(h.target / "d1/extra.txt", "x");
    fs::create_directories(h.target / "d2/old/deeper");
    test_support::write_file(h.source / "d0/d1/f", "changed");
    h.open();
    auto scan = h.scan();
    REQUIRE(scan->start());
    scan->wait();
    CHECK(scan->take_report().failed.empty());
    const auto extras = scan->take_extras();
    CHECK(extras == std::vector<std::string>{"d1/extra.txt", "d2/old"});
    CHECK(fs::exists(h.target / "d2/old/deeper"));
    CHECK(test_support::file_has_content(h.target / "d0/d1/f", "changed"));

    // The session deletes them as one batch (which also sets their directories' times).
    Batch deletions;
    for (const auto& path : extras)
        deletions.changes.push_back(Change{path, ChangeKind::remove, 0});
    CHECK(h.mirror->run_batch(deletions, Phase::startup).failed.empty());
    const auto differences = test_support::compare_trees(h.source, h.target, {});
    INFO(differences.size() << " differences, the first: "
                            << (differences.empty() ? "" : differences.front()));
    CHECK(differences.empty());
}

TEST_CASE("a paused startup scan does nothing until resumed", "[engine][startup_scan]") {
    Harness h;
    h.make_tree(h.source, 8, 2);
    h.open();
    auto scan = h.scan();
    REQUIRE(scan->start());
    scan->pause();
    const auto calls = h.recorder->calls().size();
    const auto compared = scan->totals().directories;
    // What a live batch would do now cannot meet a comparison or a transfer in flight.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(h.recorder->calls().size() == calls);
    CHECK(scan->totals().directories == compared);
    scan->resume();
    scan->wait();
    CHECK(scan->totals().directories == 73);
    CHECK(test_support::compare_trees(h.source, h.target, {}).empty());
}

TEST_CASE("a startup scan reports a directory it cannot make and does not enter it",
          "[engine][startup_scan]") {
    Harness h;
    h.make_tree(h.source, 2, 2);
    h.open();
    h.recorder->set_fault_rule(
        [](const std::string& operation, std::string_view path) -> std::optional<base::Error> {
            if (operation == "make_directory" && path == "d1")
                return base::Error{base::ErrorKind::permission_denied, "denied: d1", EACCES};
            return std::nullopt;
        });
    auto scan = h.scan();
    REQUIRE(scan->start());
    scan->wait();
    auto report = scan->take_report();
    REQUIRE(report.failed.size() == 1);
    CHECK(report.failed[0].change.path == "d1");
    CHECK(report.failed[0].change.kind == ChangeKind::tree);
    CHECK_FALSE(fs::exists(h.target / "d1"));
    CHECK(fs::exists(h.target / "d0/d1/f"));
}
