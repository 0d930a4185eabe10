#include "monitor/alert_message.hpp"

#include <nlohmann/json.hpp>

#include <catch2/catch.hpp>

using namespace fsmirror::monitor;
using namespace std::chrono_literals;

namespace {

const WallTime t0 = WallTime(std::chrono::seconds(1'800'000'000));

AlertContext context() {
    AlertContext ctx;
    ctx.hostname = "db1.example.net";
    ctx.status.written = t0;
    ctx.status.started = t0 - 2h;
    ctx.status.pid = 777;
    SyncStatus sync;
    sync.name = "storage";
    sync.source = "/mnt/storage_do_1";
    sync.target = "local:/mnt/storage_do_2";
    sync.state = SyncState::watching;
    sync.initial_sync_done = true;
    sync.backlog = 150;
    sync.last_success_time = t0 - 30s;
    sync.last_error = "no space left";
    sync.last_error_time = t0 - 10s;
    ctx.status.syncs.push_back(sync);
    ctx.status.descriptions.push_back(
        SyncDescription{"storage", "/mnt/storage_do_1", "/mnt/storage_do_2", {}});
    ctx.status.target_disks["storage"] = DiskUsage{100ull << 30, 5ull << 30, 5ull << 30, 1000, 990};
    ctx.recent_log = {"2026-01-01 10:00:00.000 warning: storage: no space left (attempt 1)"};
    ctx.status_file = "/var/log/fsmirror/fsmirror.status";
    ctx.config_file = "/etc/fsmirror/fsmirror.yml";
    return ctx;
}

AlertDecision decision_with(std::vector<Alert> due, std::vector<Alert> current) {
    AlertDecision decision;
    decision.due = std::move(due);
    decision.current = std::move(current);
    for (const auto& alert : decision.due)
        decision.suppressed[alert.kind] = 0;
    return decision;
}

} // namespace

TEST_CASE("the alert mail has the subject operators filter on and every section",
          "[monitor][mail]") {
    const Alert disk{AlertKind::disk_space, Severity::critical, "storage",
                     "storage: target file system at /mnt/storage_do_2 is 95.0% full"};
    const Alert backlog{AlertKind::backlog, Severity::warning, "storage",
                        "storage: 150 changes pending (threshold 100)"};
    auto decision = decision_with({disk}, {disk, backlog});
    decision.suppressed[AlertKind::disk_space] = 4;
    const Notification mail = compose_alert(decision, context());
    CHECK(mail.type == Notification::Type::alert);
    CHECK(mail.subject == "[ALERT] fsmirror health check failed on db1.example.net");
    const std::string& body = mail.body;
    CHECK_THAT(body, Catch::Contains("Host:    db1.example.net\n"));
    CHECK_THAT(body, Catch::Contains("Health:  CRITICAL\n"));
    CHECK_THAT(body, Catch::Contains("Issues:\n  - [CRITICAL] disk_space: storage: target file "
                                     "system at /mnt/storage_do_2 is 95.0% full\n"));
    CHECK_THAT(body, Catch::Contains("disk_space: 4 more check(s) found this since the last "
                                     "mail; suppressed by the rate limit"));
    CHECK_THAT(body, Catch::Contains("Still failing (already reported):\n  - [WARNING] backlog"));
    CHECK_THAT(body, Catch::Contains("Service state (fsmirror pid 777, up 2 h):\n  storage: "
                                     "watching, 150 pending"));
    CHECK_THAT(body, Catch::Contains("last error (10 s ago): no space left"));
    CHECK_THAT(body, Catch::Contains("Disk usage:\n  storage target /mnt/storage_do_2: 95.0% "
                                     "used, 5.0 GiB free of 100.0 GiB"));
    CHECK_THAT(body, Catch::Contains("Recent log lines:\n  2026-01-01 10:00:00.000 warning"));
    CHECK_THAT(body, Catch::Contains("Commands to investigate:\n  systemctl status fsmirror\n"
                                     "  journalctl -u fsmirror -n 100 --no-pager\n"));
    CHECK_THAT(body, Catch::Contains("fsmirror health --config /etc/fsmirror/fsmirror.yml\n"));
    CHECK_THAT(body, Catch::Contains("cat /var/log/fsmirror/fsmirror.status\n"));
    CHECK_THAT(body, Catch::Contains("df -h /mnt/storage_do_2\n"));
}

TEST_CASE("the alert JSON carries the same facts", "[monitor][mail]") {
    const Alert backlog{AlertKind::backlog, Severity::warning, "storage", "pending"};
    auto decision = decision_with({backlog}, {backlog});
    decision.suppressed[AlertKind::backlog] = 2;
    const auto document = nlohmann::json::parse(compose_alert(decision, context()).json);
    CHECK(document["event"] == "alert");
    CHECK(document["host"] == "db1.example.net");
    CHECK(document["health"] == "WARNING");
    CHECK(document["alerts"][0]["kind"] == "backlog");
    CHECK(document["alerts"][0]["message"] == "pending");
    CHECK(document["suppressed"]["backlog"] == 2);
    CHECK(document["subject"] == "[ALERT] fsmirror health check failed on db1.example.net");
}

TEST_CASE("the recovery mail says what cleared, after how long, and what was suppressed",
          "[monitor][mail]") {
    AlertDecision decision;
    decision.recovered.push_back(
        Recovery{AlertKind::sync_errors,
                 5min,
                 3,
                 {Alert{AlertKind::sync_errors, Severity::warning, "storage", "writes fail"}}});
    Notification mail = compose_recovery(decision, context());
    CHECK(mail.type == Notification::Type::recovery);
    CHECK(mail.subject == "[RESOLVED] fsmirror health check recovered on db1.example.net");
    CHECK_THAT(mail.body, Catch::Contains("Resolved:\n  - sync_errors: cleared after 5 min (3 "
                                          "check(s) suppressed since the last mail)\n      was: "
                                          "writes fail\n"));
    CHECK(nlohmann::json::parse(mail.json)["recovered"][0]["suppressed"] == 3);

    decision.current = {Alert{AlertKind::backlog, Severity::warning, "storage", "pending"}};
    mail = compose_recovery(decision, context());
    CHECK(mail.subject == "[RESOLVED] fsmirror health check partly recovered on db1.example.net");
    CHECK_THAT(mail.body, Catch::Contains("Still failing:\n  - [WARNING] backlog: pending"));
}

TEST_CASE("the mail on the wire has headers, a blank line and CRLF line ends", "[monitor][mail]") {
    Notification notification;
    notification.subject = "[ALERT] fsmirror health check failed on h";
    notification.body = "line one\nline two\n";
    const std::string mail =
        format_mail(notification, MailEnvelope{"fsmirror@h", {"a@x", "b@y"}}, t0, "id@h");
    CHECK(mail.starts_with("From: fsmirror@h\r\nTo: a@x, b@y\r\nSubject: [ALERT] fsmirror health "
                           "check failed on h\r\nDate: "));
    CHECK_THAT(mail, Catch::Contains("\r\nMessage-ID: <id@h>\r\n"));
    CHECK_THAT(mail, Catch::Contains("\r\nAuto-Submitted: auto-generated\r\n"));
    CHECK(mail.ends_with("\r\n\r\nline one\r\nline two\r\n"));
    CHECK(mail.find("\n\n") == std::string::npos);
}

TEST_CASE("RFC 5322 dates", "[monitor][mail]") {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    CHECK(rfc5322_date(t0) == "Fri, 15 Jan 2027 08:00:00 +0000");
}
