#include "monitor/health_checks.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::monitor;
using namespace std::chrono_literals;

namespace {

const WallTime t0 = WallTime(std::chrono::seconds(1'800'000'000));

DiskUsage disk(double used_percent) {
    DiskUsage usage;
    usage.total_bytes = 1000 * 1024 * 1024ull;
    usage.free_bytes = static_cast<std::uint64_t>(usage.total_bytes * (100 - used_percent) / 100);
    usage.available_bytes = usage.free_bytes;
    usage.total_inodes = 1000;
    usage.free_inodes = 900;
    return usage;
}

SyncHealthInput healthy_sync(const std::string& name = "storage") {
    SyncHealthInput sync;
    sync.name = name;
    sync.source = PathProbe{"/srv/" + name, true, true, std::nullopt};
    sync.target = PathProbe{"/mnt/" + name, true, true, disk(50)};
    SyncStatus status;
    status.name = name;
    status.source = "/srv/" + name;
    status.target = "local:/mnt/" + name;
    status.state = SyncState::watching;
    status.initial_sync_done = true;
    status.last_success_time = t0 - 5s;
    status.updated = t0;
    sync.status = status;
    return sync;
}

HealthInput input_with(SyncHealthInput sync) {
    HealthInput input;
    input.now = t0;
    input.syncs.push_back(std::move(sync));
    return input;
}

std::vector<AlertKind> kinds(const std::vector<Alert>& alerts) {
    std::vector<AlertKind> result;
    for (const auto& alert : alerts)
        result.push_back(alert.kind);
    return result;
}

} // namespace

TEST_CASE("a healthy sync raises nothing", "[monitor][health]") {
    const auto alerts = evaluate_health(input_with(healthy_sync()), HealthThresholds{});
    CHECK(alerts.empty());
    CHECK(worst_severity(alerts) == Severity::ok);
}

TEST_CASE("backlog above the threshold is a warning naming the count and the age",
          "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->backlog = 101;
    sync.status->oldest_pending = t0 - 125s;
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].kind == AlertKind::backlog);
    CHECK(alerts[0].severity == Severity::warning);
    CHECK(alerts[0].subject == "storage");
    CHECK(alerts[0].message ==
          "storage: 101 changes pending (threshold 100), the oldest waiting for 2 min 5 s");

    sync.status->backlog = 100; // at the threshold: fine
    CHECK(evaluate_health(input_with(sync), HealthThresholds{}).empty());
}

TEST_CASE("a small backlog that waits too long is a warning", "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->backlog = 2;
    sync.status->oldest_pending = t0 - 11min;
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::backlog});
    CHECK_THAT(alerts[0].message, Catch::Contains("oldest waiting for 11 min"));
}

TEST_CASE("no backlog alert during the initial sync", "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->state = SyncState::initial_sync;
    sync.status->backlog = 5000;
    sync.status->oldest_pending = t0 - 3h;
    CHECK(evaluate_health(input_with(sync), HealthThresholds{}).empty());
}

TEST_CASE("disk usage: warning at the threshold, critical at the critical one",
          "[monitor][health]") {
    HealthThresholds limits;
    limits.disk_warning_percent = 90;
    limits.disk_critical_percent = 98;
    auto sync = healthy_sync();
    sync.target->disk = disk(89.9);
    CHECK(evaluate_health(input_with(sync), limits).empty());
    sync.target->disk = disk(90);
    auto alerts = evaluate_health(input_with(sync), limits);
    REQUIRE(kinds(alerts) == std::vector{AlertKind::disk_space});
    CHECK(alerts[0].severity == Severity::warning);
    CHECK_THAT(alerts[0].message, Catch::Contains("/mnt/storage is 90.0% full"));
    CHECK_THAT(alerts[0].message, Catch::Contains("threshold 90%"));
    sync.target->disk = disk(99);
    alerts = evaluate_health(input_with(sync), limits);
    REQUIRE(kinds(alerts) == std::vector{AlertKind::disk_space});
    CHECK(alerts[0].severity == Severity::critical);
}

TEST_CASE("inodes nearly used up is a warning", "[monitor][health]") {
    auto sync = healthy_sync();
    sync.target->disk->free_inodes = 50; // 95% used
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::inodes});
    CHECK_THAT(alerts[0].message, Catch::Contains("95.0% of its inodes"));
}

TEST_CASE("DiskUsage computes percentages as df does", "[monitor][health]") {
    DiskUsage usage;
    usage.total_bytes = 100;
    usage.free_bytes = 10;     // 90 used
    usage.available_bytes = 5; // 5 reserved for root
    CHECK(usage.used_percent() == Approx(100.0 * 90 / 95));
    CHECK(DiskUsage{}.used_percent() == 0.0);
    CHECK(DiskUsage{}.inodes_used_percent() == 0.0);
}

TEST_CASE("failing transfers are sync errors with the last error", "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->retrying = 3;
    sync.status->last_error = "write /mnt/storage/x: Read-only file system";
    sync.status->last_error_time = t0 - 1s;
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::sync_errors});
    CHECK(alerts[0].message == "storage: 3 changes failed and are being retried; last error: "
                               "write /mnt/storage/x: Read-only file system");

    // An error older than the last success is history.
    sync.status->retrying = 0;
    sync.status->last_success_time = t0;
    CHECK(evaluate_health(input_with(sync), HealthThresholds{}).empty());
    // A newer one is not.
    sync.status->last_success_time = t0 - 5s;
    sync.status->last_error_time = t0;
    alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::sync_errors});
    CHECK_THAT(alerts[0].message, Catch::Contains("the last transfer failed"));
}

TEST_CASE("a lost source or target is critical, and hides the derived alerts",
          "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->state = SyncState::source_lost;
    sync.status->last_error = "source directory /srv/storage vanished or was unmounted";
    sync.status->last_error_time = t0;
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::source});
    CHECK(alerts[0].severity == Severity::critical);

    sync.source.exists = false; // gone entirely: one alert, from the probe
    alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::source});
    CHECK_THAT(alerts[0].message, Catch::Contains("is missing"));

    auto target = healthy_sync();
    target.status->state = SyncState::target_lost;
    target.status->backlog = 500;
    target.status->last_error = "target gone";
    alerts = evaluate_health(input_with(target), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::target});
    CHECK_THAT(alerts[0].message, Catch::Contains("500 changes held: target gone"));

    // Reached, but refused by its pre-flight checks: an alert of its own, not "cannot be reached".
    target.status->state = SyncState::target_refused;
    target.status->last_error = "pre-flight check failed: non-empty-target";
    alerts = evaluate_health(input_with(target), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::target_refused});
    CHECK_THAT(alerts[0].message, Catch::Contains("refused by its pre-flight checks") &&
                                      Catch::Contains("non-empty-target"));

    target.status->state = SyncState::watching;
    target.target->exists = false;
    target.status->backlog = 0;
    alerts = evaluate_health(input_with(target), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::target});
}

TEST_CASE("configured mount points must be mounted", "[monitor][health]") {
    HealthInput input = input_with(healthy_sync());
    input.mountpoints = {PathProbe{"/mnt/a", true, true, std::nullopt},
                         PathProbe{"/mnt/b", true, false, std::nullopt},
                         PathProbe{"/mnt/c", false, false, std::nullopt}};
    auto alerts = evaluate_health(input, HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::mount, AlertKind::mount});
    CHECK(alerts[0].message == "/mnt/b is not a mount point: the volume is not mounted");
    CHECK(alerts[1].message == "/mnt/c is missing: the volume is not mounted");
}

TEST_CASE("inotify watches near the limit", "[monitor][health]") {
    HealthInput input = input_with(healthy_sync());
    input.watches_in_use = 900;
    input.max_user_watches = 1000;
    auto alerts = evaluate_health(input, HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::inotify_watches});
    CHECK_THAT(alerts[0].message, Catch::Contains("fs.inotify.max_user_watches"));
    input.watches_in_use = 899;
    CHECK(evaluate_health(input, HealthThresholds{}).empty());
}

TEST_CASE("checked from outside: missing, dead or stale status is critical", "[monitor][health]") {
    HealthInput input = input_with(healthy_sync());
    input.from_outside = true;
    input.status_location = "/run/fsmirror/status.json";

    auto alerts = evaluate_health(input, HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::daemon});
    CHECK(alerts[0].severity == Severity::critical);
    CHECK_THAT(alerts[0].message, Catch::Contains("no status at /run/fsmirror/status.json"));

    input.status_written = t0 - 5s;
    CHECK(evaluate_health(input, HealthThresholds{}).empty());

    input.status_written = t0 - 61s;
    alerts = evaluate_health(input, HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::daemon});
    CHECK_THAT(alerts[0].message, Catch::Contains("last written 1 min 1 s ago"));

    input.status_written = t0 - 1s;
    input.daemon_alive = false;
    input.daemon_pid = 4242;
    alerts = evaluate_health(input, HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::daemon});
    CHECK_THAT(alerts[0].message, Catch::Contains("pid 4242) is not running"));

    // A configured sync the daemon does not report.
    input.daemon_alive = true;
    input.syncs[0].status.reset();
    alerts = evaluate_health(input, HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::daemon});
    CHECK(alerts[0].severity == Severity::warning);
}

TEST_CASE("SQLite changes not on the target for too long", "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->databases = DatabaseFigures{};
    sync.status->databases->databases_unmirrored = 2;
    sync.status->databases->unmirrored_age_ms = 300'000;
    CHECK(evaluate_health(input_with(sync), HealthThresholds{}).empty());
    sync.status->databases->unmirrored_age_ms = 301'000;
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::recovery_point});
    CHECK(alerts[0].message == "storage: 2 SQLite database(s) have changes not on the target for "
                               "5 min 1 s (threshold 5 min)");
}

TEST_CASE("alerts are ordered most severe first", "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->backlog = 1000;
    sync.target->disk = disk(99);
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(kinds(alerts) == std::vector{AlertKind::disk_space, AlertKind::backlog});
    CHECK(worst_severity(alerts) == Severity::critical);
}

TEST_CASE("names round-trip and human units read well", "[monitor][health]") {
    for (auto kind : {AlertKind::daemon, AlertKind::backlog, AlertKind::disk_space,
                      AlertKind::inodes, AlertKind::sync_errors, AlertKind::source,
                      AlertKind::target, AlertKind::mount, AlertKind::inotify_watches,
                      AlertKind::recovery_point, AlertKind::mass_delete, AlertKind::target_refused})
        CHECK(parse_alert_kind(to_string(kind)) == kind);
    CHECK_FALSE(parse_alert_kind("disk"));
    CHECK(parse_severity("WARNING") == Severity::warning);
    CHECK(human_bytes(0) == "0 B");
    CHECK(human_bytes(1023) == "1023 B");
    CHECK(human_bytes(1536) == "1.5 KiB");
    CHECK(human_bytes(3ull << 30) == "3.0 GiB");
    CHECK(human_duration(0s) == "0 s");
    CHECK(human_duration(59s) == "59 s");
    CHECK(human_duration(60s) == "1 min");
    CHECK(human_duration(125s) == "2 min 5 s");
    CHECK(human_duration(3h + 4min) == "3 h 4 min");
    CHECK(human_duration(49h) == "2 d 1 h");
    CHECK(human_duration(-5s) == "0 s");
}

TEST_CASE("deletions held by the mass-delete guard are critical and name the resume command",
          "[monitor][health]") {
    auto sync = healthy_sync();
    sync.status->state = SyncState::deletions_paused;
    sync.status->held_deletions = 1200;
    sync.status->paused_reason = "1200 of 1300 entries (92%) would be deleted";
    auto alerts = evaluate_health(input_with(sync), HealthThresholds{});
    REQUIRE(alerts.size() == 1);
    CHECK(alerts[0].kind == AlertKind::mass_delete);
    CHECK(alerts[0].severity == Severity::critical);
    CHECK_THAT(alerts[0].message, Catch::Contains("holds 1200 deletions (1200 of 1300 entries"));
    CHECK_THAT(alerts[0].message, Catch::Contains("fsmirror resume --name storage"));
    CHECK(to_string(AlertKind::mass_delete) == std::string("mass_delete"));

    sync.status->held_deletions = 0; // released: the alert resolves
    sync.status->state = SyncState::watching;
    CHECK(evaluate_health(input_with(sync), HealthThresholds{}).empty());
}
