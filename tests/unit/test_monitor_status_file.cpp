#include "monitor/status_file.hpp"
#include "monitor/status_json.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdlib>
#include <ctime>
#include <filesystem>

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace fsmirror::monitor;
using namespace std::chrono_literals;

namespace {

// The capture in the reference was taken at "Sun Nov 22 16:55:01 2026" local time; pin the
// zone so the dates format the same everywhere.
WallTime local_time(int year, int month, int day, int hour, int minute, int second) {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return WallClock::from_time_t(::timegm(&tm));
}

BacklogItem item(ItemStatus status, std::string type, std::string path, bool directory = false) {
    BacklogItem result;
    result.status = status;
    result.type = std::move(type);
    result.path = std::move(path);
    result.is_directory = directory;
    return result;
}

StatusReport reference_report() {
    const WallTime when = local_time(2026, 11, 22, 16, 55, 1);
    StatusReport report;
    report.written = when;
    report.started = when - 90s;
    report.pid = 1234;
    report.hostname = "db1";
    SyncStatus sync;
    sync.name = "Sync1";
    sync.source = "/srv/data";
    sync.target = "local:/mnt/mirror";
    sync.state = SyncState::watching;
    sync.initial_sync_done = true;
    sync.items = {item(ItemStatus::wait, "Create", "b.txt"),
                  item(ItemStatus::wait, "Modify", "b.txt"),
                  item(ItemStatus::wait, "Create", "sub/c.txt"),
                  item(ItemStatus::wait, "Delete", "a.txt"),
                  item(ItemStatus::wait, "Create", "newdir", true),
                  item(ItemStatus::block, "Create", "newdir/y"),
                  item(ItemStatus::active, "Modify", "zz")};
    sync.backlog = sync.items.size();
    sync.watched_directories = std::make_shared<const std::vector<std::string>>(
        std::vector<std::string>{"", "sub", "newdir"});
    sync.watch_count = 3;
    sync.updated = when;
    sync.started = report.started;
    report.syncs.push_back(sync);
    report.descriptions.push_back(SyncDescription{"Sync1", "/srv/data", "/mnt/mirror", {}});
    return report;
}

} // namespace

TEST_CASE("the status file starts exactly as lsyncd's", "[monitor][status]") {
    const std::string text = format_status_file(reference_report());
    const std::string expected = "Lsyncd status report at Sun Nov 22 16:55:01 2026\n"
                                 "\n"
                                 "Sync1 source=/srv/data/\n"
                                 "There are 7 delays\n"
                                 "wait   Create /b.txt\n"
                                 "wait   Modify /b.txt\n"
                                 "wait   Create /sub/c.txt\n"
                                 "wait   Delete /a.txt\n"
                                 "wait   Create /newdir/\n"
                                 "block  Create /newdir/y\n"
                                 "active Modify /zz\n"
                                 "Filtering:\n"
                                 "  nothing.\n"
                                 "\n"
                                 "\n"
                                 "Inotify watching 3 directories\n"
                                 "  1: /srv/data/\n"
                                 "  2: /srv/data/sub/\n"
                                 "  3: /srv/data/newdir/\n"
                                 "\n"
                                 "fsmirror:\n";
    REQUIRE(text.substr(0, expected.size()) == expected);
    CHECK_THAT(text, Catch::Contains("pid 1234 on db1, up 1 min 30 s"));
    CHECK_THAT(text, Catch::Contains("health OK"));
}

TEST_CASE("excludes are listed as lsyncd intended (not its 'nothing.' bug)", "[monitor][status]") {
    auto report = reference_report();
    report.descriptions[0].excludes = {"*.tmp", "/cache/"};
    const std::string text = format_status_file(report);
    CHECK_THAT(text, Catch::Contains("Filtering:\nFrom excludes:\n- *.tmp\n- /cache/\n\n\n"));
}

TEST_CASE("delay lines: padding, Init with its trailing space, moves", "[monitor][status]") {
    CHECK(lsyncd_delay_line(item(ItemStatus::active, "Init", "")) == "active Init ");
    CHECK(lsyncd_delay_line(item(ItemStatus::wait, "Blanket", "")) == "wait   Blanket ");
    CHECK(lsyncd_delay_line(item(ItemStatus::block, "Full", "", true)) == "block  Full /");
    BacklogItem move = item(ItemStatus::wait, "Move", "a");
    move.to_path = "b/c";
    CHECK(lsyncd_delay_line(move) == "wait   Move /a -> /b/c");
}

TEST_CASE("several syncs share one inotify list, numbered across them", "[monitor][status]") {
    auto report = reference_report();
    auto second = report.syncs[0];
    second.name = "Sync2";
    second.source = "/srv/other/";
    second.items.clear();
    second.backlog = 0;
    second.watched_directories =
        std::make_shared<const std::vector<std::string>>(std::vector<std::string>{""});
    report.syncs.push_back(second);
    const std::string text = format_status_file(report);
    CHECK_THAT(text, Catch::Contains("Sync2 source=/srv/other/\nThere are 0 delays\nFiltering:"));
    CHECK_THAT(text, Catch::Contains("Inotify watching 4 directories\n"));
    CHECK_THAT(text, Catch::Contains("  4: /srv/other/\n"));
}

TEST_CASE("the fsmirror section lists errors and alerts", "[monitor][status]") {
    auto report = reference_report();
    report.syncs[0].last_error = "no space left";
    report.syncs[0].last_error_time = report.written;
    report.alerts = {Alert{AlertKind::disk_space, Severity::critical, "Sync1", "disk full"}};
    const std::string text = format_status_file(report);
    CHECK_THAT(text, Catch::Contains("last error Sun Nov 22 16:55:01 2026: no space left"));
    CHECK_THAT(text, Catch::Contains("health CRITICAL\n    CRITICAL disk_space: disk full"));
}

TEST_CASE("status JSON round-trips", "[monitor][status]") {
    auto report = reference_report();
    report.syncs[0].oldest_pending = report.written - 3s;
    report.syncs[0].last_success_time = report.written - 1s;
    report.syncs[0].counters.bytes_written = 1ull << 40;
    report.syncs[0].items[0].to_path = "moved";
    report.alerts = {Alert{AlertKind::backlog, Severity::warning, "Sync1", "too much"}};
    report.target_disks["Sync1"] = DiskUsage{100, 40, 50, 10, 5};
    report.status_interval = 1500ms;
    report.syncs[0].databases = DatabaseFigures{4, 1, 1, 2500, 1500, 3000};
    auto parsed = status_from_json(status_to_json(report));
    REQUIRE(parsed);
    CHECK(parsed->pid == 1234);
    CHECK(parsed->hostname == "db1");
    CHECK(parsed->status_interval == 1500ms);
    REQUIRE(parsed->syncs.size() == 1);
    const auto& sync = parsed->syncs[0];
    CHECK(sync.name == "Sync1");
    CHECK(sync.state == SyncState::watching);
    CHECK(sync.backlog == 7);
    CHECK(sync.items.size() == 7);
    CHECK(sync.items[0].to_path == "moved");
    CHECK(sync.items[5].status == ItemStatus::block);
    CHECK(sync.counters.bytes_written == 1ull << 40);
    CHECK(sync.watch_count == 3);
    CHECK(std::chrono::abs(*sync.oldest_pending - *report.syncs[0].oldest_pending) < 1ms);
    CHECK_FALSE(sync.last_error_time);
    REQUIRE(sync.databases);
    CHECK(sync.databases->unmirrored_age_ms == 2500);
    CHECK(sync.databases->max_recovery_point_ms == 3000);
    REQUIRE(parsed->descriptions.size() == 1);
    CHECK(parsed->descriptions[0].target_path == "/mnt/mirror");
    REQUIRE(parsed->alerts.size() == 1);
    CHECK(parsed->alerts[0] == report.alerts[0]);
    CHECK(parsed->target_disks.at("Sync1").available_bytes == 40);
}

TEST_CASE("malformed or newer status JSON is refused", "[monitor][status]") {
    CHECK_FALSE(status_from_json("not json"));
    CHECK_FALSE(status_from_json("{}"));
    auto newer = status_from_json(R"({"version": 99})");
    REQUIRE_FALSE(newer);
    CHECK_THAT(newer.error().message, Catch::Contains("newer fsmirror"));
}

TEST_CASE("atomic write replaces the file and leaves no temporary", "[monitor][status]") {
    fsmirror::test_support::TempDir dir;
    const auto path = dir / "lsyncd.status";
    REQUIRE(write_file_atomically(path, "first\n"));
    REQUIRE(write_file_atomically(path, "second\n"));
    CHECK(fsmirror::test_support::read_file(path) == "second\n");
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0644);
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(dir.path()))
        ++entries;
    CHECK(entries == 1);
    auto failed = write_file_atomically(dir / "missing/dir/file", "x");
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error().message, Catch::Contains("missing/dir/file"));
}
