#include "monitor/metrics.hpp"
#include "monitor/metrics_server.hpp"
#include "monitor/system_probe.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::monitor;
using namespace std::chrono_literals;

namespace {

StatusReport report_with_one_sync() {
    StatusReport report;
    report.written = WallTime(std::chrono::seconds(1'800'000'000));
    report.started = report.written - 60s;
    SyncStatus sync;
    sync.name = "stor\"age";
    sync.state = SyncState::syncing;
    sync.initial_sync_done = true;
    sync.backlog = 12;
    sync.oldest_pending = report.written - 3s;
    sync.counters.files_written = 5;
    sync.counters.bytes_written = 4096;
    sync.watch_count = 7;
    report.syncs.push_back(sync);
    report.target_disks["stor\"age"] = DiskUsage{1000, 250, 250, 100, 90};
    report.alerts = {Alert{AlertKind::backlog, Severity::warning, "x", "y"}};
    return report;
}

} // namespace

TEST_CASE("metrics in Prometheus text format", "[monitor][metrics]") {
    const std::string text = format_metrics(report_with_one_sync());
    CHECK_THAT(text, Catch::Contains("# HELP fsmirror_sync_backlog "));
    CHECK_THAT(text, Catch::Contains("# TYPE fsmirror_sync_backlog gauge\n"));
    CHECK_THAT(text, Catch::Contains("fsmirror_sync_backlog{sync=\"stor\\\"age\"} 12\n"));
    CHECK_THAT(text, Catch::Contains("# TYPE fsmirror_sync_files_written_total counter\n"));
    CHECK_THAT(text,
               Catch::Contains("fsmirror_sync_bytes_written_total{sync=\"stor\\\"age\"} 4096\n"));
    CHECK_THAT(text,
               Catch::Contains("fsmirror_sync_state{sync=\"stor\\\"age\",state=\"syncing\"} 1\n"));
    CHECK_THAT(text,
               Catch::Contains("fsmirror_sync_state{sync=\"stor\\\"age\",state=\"watching\"} 0\n"));
    CHECK_THAT(text,
               Catch::Contains("fsmirror_sync_oldest_pending_seconds{sync=\"stor\\\"age\"} 3\n"));
    CHECK_THAT(text, Catch::Contains("fsmirror_target_used_ratio{sync=\"stor\\\"age\"} 0.75\n"));
    CHECK_THAT(text, Catch::Contains("fsmirror_alerts{kind=\"backlog\"} 1\n"));
    CHECK_THAT(text, Catch::Contains("fsmirror_alerts{kind=\"disk_space\"} 0\n"));
    CHECK_THAT(text, Catch::Contains("fsmirror_health_status 1\n"));
    CHECK_THAT(text, Catch::Contains("fsmirror_up 1\n"));
    CHECK(text.back() == '\n');
}

TEST_CASE("SQLite figures appear only for syncs that snapshot databases", "[monitor][metrics]") {
    auto report = report_with_one_sync();
    CHECK_THAT(format_metrics(report), !Catch::Contains("fsmirror_sqlite_"));
    report.syncs[0].databases = DatabaseFigures{4, 1, 1, 2500, 1500, 3000};
    const std::string text = format_metrics(report);
    CHECK_THAT(text, Catch::Contains("fsmirror_sqlite_snapshots_total{sync=\"stor\\\"age\"} 4\n"));
    CHECK_THAT(text, Catch::Contains(
                         "fsmirror_sqlite_unmirrored_age_seconds{sync=\"stor\\\"age\"} 2.5\n"));
}

TEST_CASE("label values are escaped", "[monitor][metrics]") {
    CHECK(escape_label_value("plain") == "plain");
    CHECK(escape_label_value("a\\b\"c\nd") == "a\\\\b\\\"c\\nd");
}

TEST_CASE("listen addresses default to loopback", "[monitor][metrics]") {
    CHECK(parse_listen_address("9775") == ListenAddress{"127.0.0.1", "9775"});
    CHECK(parse_listen_address("0.0.0.0:9775") == ListenAddress{"0.0.0.0", "9775"});
    CHECK(parse_listen_address("localhost:1") == ListenAddress{"localhost", "1"});
    CHECK(parse_listen_address("[::1]:9775") == ListenAddress{"::1", "9775"});
    CHECK_FALSE(parse_listen_address(""));
    CHECK_FALSE(parse_listen_address("0"));
    CHECK_FALSE(parse_listen_address("65536"));
    CHECK_FALSE(parse_listen_address("host:"));
    CHECK_FALSE(parse_listen_address(":80"));
    CHECK_FALSE(parse_listen_address("::1:80"));
    CHECK_FALSE(parse_listen_address("[]:80"));
}

TEST_CASE("mountinfo lines give their mount point, escapes decoded", "[monitor][probe]") {
    CHECK(parse_mountinfo_line("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw") ==
          "/mnt2");
    CHECK(parse_mountinfo_line("36 35 98:0 / /mnt/with\\040space rw - tmpfs tmpfs rw") ==
          "/mnt/with space");
    CHECK_FALSE(parse_mountinfo_line("36 35 98:0"));
    CHECK(probe_path("/", Disk::yes).is_mountpoint);
    CHECK(probe_path("/", Disk::yes).disk.has_value());
    CHECK_FALSE(probe_path("/nonexistent-fsmirror-path", Disk::yes).exists);
}
