#include "monitor/alert_limiter.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::monitor;
using namespace std::chrono_literals;

namespace {

const WallTime t0 = WallTime(std::chrono::seconds(1'800'000'000));

Alert alert(AlertKind kind, Severity severity = Severity::warning, std::string subject = "s") {
    return Alert{kind, severity, subject, std::string(to_string(kind)) + " problem"};
}

} // namespace

TEST_CASE("the first alert of a kind is sent at once", "[monitor][limiter]") {
    AlertLimiter limiter(1h);
    auto decision = limiter.update({alert(AlertKind::backlog)}, t0);
    REQUIRE(decision.notify());
    CHECK(decision.due.size() == 1);
    CHECK(decision.suppressed.at(AlertKind::backlog) == 0);
    CHECK(decision.recovered.empty());
}

TEST_CASE("repeats within the window are counted, not sent", "[monitor][limiter]") {
    AlertLimiter limiter(1h);
    limiter.update({alert(AlertKind::backlog)}, t0);
    for (int i = 1; i <= 3; ++i) {
        auto decision = limiter.update({alert(AlertKind::backlog)}, t0 + i * 5min);
        CHECK_FALSE(decision.notify());
        CHECK(decision.current.size() == 1);
    }
    CHECK(limiter.suppressed(AlertKind::backlog) == 3);
    // Past the window: sent again, with the count of what was held back.
    auto decision = limiter.update({alert(AlertKind::backlog)}, t0 + 1h);
    REQUIRE(decision.notify());
    CHECK(decision.suppressed.at(AlertKind::backlog) == 3);
    CHECK(limiter.suppressed(AlertKind::backlog) == 0);
}

TEST_CASE("kinds are limited independently", "[monitor][limiter]") {
    AlertLimiter limiter(1h);
    limiter.update({alert(AlertKind::backlog)}, t0);
    auto decision =
        limiter.update({alert(AlertKind::backlog), alert(AlertKind::disk_space)}, t0 + 1min);
    REQUIRE(decision.notify());
    REQUIRE(decision.due.size() == 1);
    CHECK(decision.due[0].kind == AlertKind::disk_space);
    CHECK(decision.current.size() == 2);
    CHECK(limiter.suppressed(AlertKind::backlog) == 1);
}

TEST_CASE("a kind getting worse is sent within the window", "[monitor][limiter]") {
    AlertLimiter limiter(1h);
    limiter.update({alert(AlertKind::disk_space, Severity::warning)}, t0);
    auto decision = limiter.update({alert(AlertKind::disk_space, Severity::critical)}, t0 + 1min);
    CHECK(decision.notify());
    // Going back to a warning and up again is not news within the window.
    limiter.update({alert(AlertKind::disk_space, Severity::warning)}, t0 + 2min);
    decision = limiter.update({alert(AlertKind::disk_space, Severity::critical)}, t0 + 3min);
    CHECK_FALSE(decision.notify());
}

TEST_CASE("a recovery follows an alert that was sent, with its suppressed count",
          "[monitor][limiter]") {
    AlertLimiter limiter(1h);
    limiter.update({alert(AlertKind::sync_errors)}, t0);
    limiter.update({alert(AlertKind::sync_errors)}, t0 + 1min);
    limiter.update({alert(AlertKind::sync_errors)}, t0 + 2min);
    auto decision = limiter.update({}, t0 + 10min);
    CHECK_FALSE(decision.notify());
    REQUIRE(decision.recovered.size() == 1);
    CHECK(decision.recovered[0].kind == AlertKind::sync_errors);
    CHECK(decision.recovered[0].lasted == 10min);
    CHECK(decision.recovered[0].suppressed == 2);
    CHECK(decision.recovered[0].last_alerts.size() == 1);
    // Only once.
    CHECK(limiter.update({}, t0 + 11min).recovered.empty());
}

TEST_CASE("flapping within the window: no new mail, no recovery for an unsent episode",
          "[monitor][limiter]") {
    AlertLimiter limiter(1h);
    limiter.update({alert(AlertKind::mount)}, t0);
    CHECK(limiter.update({}, t0 + 1min).recovered.size() == 1);
    auto again = limiter.update({alert(AlertKind::mount)}, t0 + 2min);
    CHECK_FALSE(again.notify());
    CHECK(limiter.update({}, t0 + 3min).recovered.empty());
    // The held-back episode is counted in the next mail.
    auto later = limiter.update({alert(AlertKind::mount)}, t0 + 61min);
    REQUIRE(later.notify());
    CHECK(later.suppressed.at(AlertKind::mount) == 1);
}

TEST_CASE("a zero window sends every check", "[monitor][limiter]") {
    AlertLimiter limiter(0s);
    CHECK(limiter.update({alert(AlertKind::backlog)}, t0).notify());
    CHECK(limiter.update({alert(AlertKind::backlog)}, t0).notify());
}
