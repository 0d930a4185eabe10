// ScanFrontier: the startup scan's stack of directories, pausing and counting.

#include "engine/scan_frontier.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::engine;

TEST_CASE("the scan frontier hands out directories depth first and knows when it is done",
          "[engine][scan_frontier]") {
    ScanFrontier frontier;
    CHECK(frontier.done());
    frontier.add(ScanItem{""});
    auto root = frontier.take();
    REQUIRE(root);
    CHECK_FALSE(frontier.done()); // in progress
    CHECK_FALSE(frontier.idle());
    frontier.add(ScanItem{"b"});
    frontier.add(ScanItem{"a"});
    frontier.finish();
    CHECK(frontier.idle());
    auto first = frontier.take();
    REQUIRE(first);
    CHECK(first->path == "a");
    frontier.add(ScanItem{"a/x"});
    frontier.finish();
    auto second = frontier.take();
    REQUIRE(second);
    CHECK(second->path == "a/x"); // the child before the sibling: depth first
    frontier.finish();
    REQUIRE(frontier.take()->path == "b");
    CHECK_FALSE(frontier.take());
    CHECK_FALSE(frontier.done());
    frontier.finish();
    CHECK(frontier.done());
    CHECK(frontier.peak_waiting() == 2);
}

TEST_CASE("a paused scan frontier hands out nothing, and resuming counts a generation",
          "[engine][scan_frontier]") {
    ScanFrontier frontier;
    frontier.add(ScanItem{"a"});
    frontier.add(ScanItem{"b"});
    auto taken = frontier.take();
    REQUIRE(taken);
    frontier.pause();
    CHECK(frontier.paused());
    CHECK_FALSE(frontier.take());
    CHECK_FALSE(frontier.idle()); // the one handed out before the pause is still in progress
    frontier.finish();
    CHECK(frontier.idle());
    CHECK(frontier.generation() == 0);
    frontier.resume();
    CHECK(frontier.generation() == 1);
    CHECK(frontier.take());
}

TEST_CASE("a cancelled scan frontier drops what waits and takes nothing more",
          "[engine][scan_frontier]") {
    ScanFrontier frontier;
    frontier.add(ScanItem{"a"});
    frontier.add(ScanItem{"b"});
    REQUIRE(frontier.take());
    frontier.cancel();
    CHECK(frontier.waiting() == 0);
    frontier.add(ScanItem{"c"});
    CHECK_FALSE(frontier.take());
    CHECK_FALSE(frontier.done());
    frontier.finish();
    CHECK(frontier.done());
}
