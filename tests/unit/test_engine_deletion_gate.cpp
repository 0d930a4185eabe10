// The session's guard: windowed counts, the paused state, holding and resuming.

#include "engine/deletion_gate.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::engine;
using fsmirror::safety::GuardReason;
using fsmirror::safety::SourceRoot;

namespace {

struct ManualClock {
    TimePoint now{};
    DeletionGate::ClockFunction function() {
        return [this] {
            return now;
        };
    }
};

DeletionPlan plan(std::vector<std::string> paths, std::uint64_t entries,
                  std::uint64_t target_entries, SourceRoot root = SourceRoot::has_entries) {
    DeletionPlan p;
    p.paths = std::move(paths);
    p.entries = entries;
    p.target_entries = target_entries;
    p.source_root = root;
    return p;
}

} // namespace

TEST_CASE("ordinary deletions pass the gate", "[engine][guard]") {
    ManualClock clock;
    DeletionGate gate(DeletionGateOptions{}, clock.function());
    CHECK(gate.approve(plan({"a"}, 1, 100)));
    CHECK(gate.approve(plan({"b", "c"}, 2, 99)));
    CHECK_FALSE(gate.paused());
    CHECK(gate.held().empty());
    CHECK(gate.count_limit() == 1000);
}

TEST_CASE("an emptied source pauses the gate and holds everything after", "[engine][guard]") {
    ManualClock clock;
    DeletionGate gate(DeletionGateOptions{}, clock.function());
    CHECK_FALSE(gate.approve(plan({"a", "b"}, 2, 2, SourceRoot::empty)));
    REQUIRE(gate.paused());
    CHECK(gate.paused()->reason == GuardReason::source_empty);
    CHECK(gate.held() == std::set<std::string>{"a", "b"});
    // Paused: even an ordinary deletion waits for the operator.
    clock.now += std::chrono::hours(1);
    CHECK_FALSE(gate.approve(plan({"c"}, 1, 1000)));
    CHECK(gate.held().size() == 3);

    auto released = gate.resume();
    CHECK(released == std::vector<std::string>{"a", "b", "c"});
    CHECK_FALSE(gate.paused());
    CHECK(gate.held().empty());
    CHECK(gate.approve(plan({"d"}, 1, 1000)));
}

TEST_CASE("deletions within the window add up, older ones do not", "[engine][guard]") {
    ManualClock clock;
    DeletionGateOptions options;
    options.limits.max_files = 100;
    options.window = std::chrono::seconds(60);
    DeletionGate gate(options, clock.function());
    CHECK(gate.approve(plan({"a"}, 60, 10'000)));
    clock.now += std::chrono::seconds(30);
    CHECK_FALSE(gate.approve(plan({"b"}, 41, 10'000)));
    REQUIRE(gate.paused());
    CHECK(gate.paused()->reason == GuardReason::too_many_files);

    DeletionGate later(options, clock.function());
    CHECK(later.approve(plan({"a"}, 60, 10'000)));
    clock.now += std::chrono::seconds(61);
    CHECK(later.approve(plan({"b"}, 41, 10'000)));
}

TEST_CASE("approve_all lets a replay or --allow-mass-delete through", "[engine][guard]") {
    ManualClock clock;
    DeletionGate gate(DeletionGateOptions{}, clock.function());
    gate.approve_all(true);
    CHECK(gate.approve(plan({"x"}, 5000, 5000, SourceRoot::empty)));
    gate.approve_all(false);
    CHECK_FALSE(gate.paused());
    // Those approved deletions count in the window.
    CHECK_FALSE(gate.approve(plan({"y"}, 1, 1'000'000)));
}
