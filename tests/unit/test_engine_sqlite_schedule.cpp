// DatabaseSchedule: when snapshots run, and the recovery point they achieve. The caller passes
// the time, so every case is exact.

#include "engine/database_schedule.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::engine;
using namespace std::chrono_literals;

namespace {

const TimePoint t0{std::chrono::seconds(1000)};

std::vector<std::string> due_names(DatabaseSchedule& schedule, TimePoint now) {
    std::vector<std::string> names;
    for (const auto& due : schedule.take_due(now))
        names.push_back(due.database);
    return names;
}

} // namespace

TEST_CASE("a change is due a delay after it was seen", "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({1s, 5s});
    CHECK_FALSE(schedule.next_due());
    schedule.note_change("app.db", t0);
    schedule.note_change("app.db", t0 + 500ms); // the oldest change counts
    REQUIRE(schedule.next_due() == t0 + 1s);
    CHECK(schedule.is_known("app.db"));
    CHECK_FALSE(schedule.is_due(t0 + 999ms));
    CHECK(due_names(schedule, t0 + 999ms).empty());
    CHECK(due_names(schedule, t0 + 1s) == std::vector<std::string>{"app.db"});
    CHECK_FALSE(schedule.next_due()); // in flight, nothing waiting
}

TEST_CASE("a database that keeps changing is snapshotted once per interval",
          "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({200ms, 5s});
    schedule.note_change("app.db", t0);
    REQUIRE(due_names(schedule, t0 + 200ms).size() == 1);
    CHECK(schedule.landed("app.db", t0 + 200ms, t0 + 300ms) == 300ms);
    schedule.note_change("app.db", t0 + 310ms);
    // Not 200 ms after the change: 5 s after the last snapshot started, less the 100 ms it
    // took, so that the next one lands 5 s after the last one did.
    CHECK(schedule.next_due() == t0 + 200ms + 5s - 100ms);
    CHECK(due_names(schedule, t0 + 5s).empty());
    CHECK(due_names(schedule, t0 + 5100ms).size() == 1);
    // The recovery point counts from the oldest change carried.
    CHECK(schedule.landed("app.db", t0 + 5100ms, t0 + 5200ms) == 5200ms - 310ms);
}

TEST_CASE("a snapshot starts early by its recent duration, to land a delay after the change",
          "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({1s, 1s});
    schedule.note_change("app.db", t0);
    CHECK(schedule.next_due() == t0 + 1s); // no duration known yet
    REQUIRE(due_names(schedule, t0 + 1s).size() == 1);
    CHECK(schedule.landed("app.db", t0 + 1s, t0 + 1300ms) == 1300ms);

    SECTION("the next change lands a delay after it was seen") {
        schedule.note_change("app.db", t0 + 1500ms);
        CHECK(schedule.next_due() == t0 + 2500ms - 300ms);
        REQUIRE(due_names(schedule, t0 + 2200ms).size() == 1);
        CHECK(schedule.landed("app.db", t0 + 2200ms, t0 + 2500ms) == 1s);
    }
    SECTION("a database written all the time lands a delay after its first change each time") {
        schedule.note_change("app.db", t0 + 1001ms); // just after the last snapshot started
        CHECK(schedule.next_due() == t0 + 2001ms - 300ms);
        REQUIRE(due_names(schedule, t0 + 1701ms).size() == 1);
        CHECK(schedule.landed("app.db", t0 + 1701ms, t0 + 2001ms) == 1s);
    }
    SECTION("the longest of the recent durations counts, then the slow one is forgotten") {
        for (int i = 1; i <= 4; ++i) {
            const TimePoint start = t0 + i * 10s;
            schedule.note_change("app.db", start - 1s);
            REQUIRE(due_names(schedule, start).size() == 1);
            schedule.landed("app.db", start, start + 100ms);
            schedule.note_change("app.db", start + 2s);
            const auto lead = i < 4 ? 300ms : 100ms;
            CHECK(schedule.next_due() == start + 3s - lead);
        }
    }
    SECTION("never more than half the delay early") {
        REQUIRE(schedule.take_due(t0 + 1s).empty());
        schedule.landed("app.db", t0 + 1500ms, t0 + 4s);
        schedule.note_change("app.db", t0 + 5s);
        CHECK(schedule.next_due() == t0 + 5500ms);
    }
}

TEST_CASE("an interval shorter than the delay leaves the delay in charge",
          "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({1s, 0s});
    schedule.note_change("a.db", t0);
    REQUIRE(due_names(schedule, t0 + 1s).size() == 1);
    schedule.landed("a.db", t0 + 1s, t0 + 1100ms);
    schedule.note_change("a.db", t0 + 1200ms);
    CHECK(schedule.next_due() == t0 + 2200ms - 100ms); // less the last snapshot's 100 ms
}

TEST_CASE("snapshots taken by the tree comparison count too", "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({1s, 1s});
    SECTION("a snapshot with no change waiting learns the database, no recovery point") {
        CHECK_FALSE(schedule.landed("new.db", t0, t0 + 10ms));
        CHECK(schedule.is_known("new.db"));
    }
    SECTION("a change seen before the snapshot started is carried by it") {
        schedule.note_change("a.db", t0);
        CHECK(schedule.landed("a.db", t0 + 100ms, t0 + 400ms) == 400ms);
        CHECK_FALSE(schedule.oldest_unmirrored());
    }
    SECTION("a change seen after it started still waits") {
        schedule.note_change("a.db", t0 + 200ms);
        CHECK_FALSE(schedule.landed("a.db", t0 + 100ms, t0 + 400ms));
        CHECK(schedule.oldest_unmirrored() == t0 + 200ms);
        CHECK(schedule.unmirrored_count() == 1);
    }
}

TEST_CASE("a failed snapshot waits for its backoff and keeps its oldest change",
          "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({100ms, 100ms});
    schedule.note_change("a.db", t0);
    REQUIRE(due_names(schedule, t0 + 100ms).size() == 1);
    schedule.failed("a.db", t0 + 150ms, t0 + 2s, 1);
    CHECK(schedule.oldest_unmirrored() == t0);
    CHECK(schedule.next_due() == t0 + 2s);
    schedule.note_change("a.db", t0 + 300ms); // new changes do not cut the backoff short
    CHECK(schedule.next_due() == t0 + 2s);
    auto due = schedule.take_due(t0 + 2s);
    REQUIRE(due.size() == 1);
    CHECK(due[0].attempts == 1);
    CHECK(schedule.landed("a.db", t0 + 2s, t0 + 2100ms) == 2100ms);
    schedule.note_change("a.db", t0 + 3s);
    CHECK(schedule.take_due(t0 + 4s).at(0).attempts == 0);
}

TEST_CASE("a failure with nothing waiting still schedules a retry", "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({100ms, 100ms});
    schedule.learn("a.db");
    schedule.failed("a.db", t0, t0 + 1s, 1);
    CHECK(schedule.next_due() == t0 + 1s);
}

TEST_CASE("taken but never reported snapshots are dropped at the end of the batch",
          "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({100ms, 100ms});
    schedule.note_change("a.db", t0);
    REQUIRE(due_names(schedule, t0 + 1s).size() == 1);
    CHECK(schedule.unmirrored_count() == 1);
    schedule.finish_batch();
    CHECK(schedule.unmirrored_count() == 0);
    CHECK_FALSE(schedule.next_due());
}

TEST_CASE("renames carry databases along and removals forget them", "[engine][sqlite][schedule]") {
    DatabaseSchedule schedule({1s, 1s});
    schedule.note_change("dir/a.db", t0);
    schedule.learn("dir/sub/b.db");
    schedule.learn("dirt/c.db");
    schedule.learn("new/old.db");
    schedule.move("dir", "new");
    CHECK(schedule.is_known("new/a.db"));
    CHECK(schedule.is_known("new/sub/b.db"));
    CHECK_FALSE(schedule.is_known("dir/a.db"));
    CHECK_FALSE(schedule.is_known("new/old.db")); // replaced by the move
    CHECK(schedule.is_known("dirt/c.db"));        // a sibling with a common prefix stays
    CHECK(schedule.oldest_unmirrored() == t0);

    schedule.forget("new/sub");
    CHECK_FALSE(schedule.is_known("new/sub/b.db"));
    CHECK(schedule.is_known("new/a.db"));
    schedule.forget("");
    CHECK_FALSE(schedule.is_known("dirt/c.db"));
    CHECK_FALSE(schedule.next_due());
}
