// Alerts end to end: the real daemon, a real SMTP server on loopback, and real trouble (a
// backlog, a nearly full tmpfs target, a read-only target subtree, an unmounted volume). Each
// kind of alert arrives once within the rate-limit window, repeats are counted, and a recovery
// mail follows when the trouble clears.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/monitor_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace fsmirror::test_support;
using fsmirror::integration::Mail;
using fsmirror::integration::MirrorFixture;
using fsmirror::integration::SmtpSink;
using fsmirror::integration::TmpfsMount;

namespace {

constexpr auto k_mail_timeout = 20'000ms;

// The YAML for one sync `storage` with fast checks and mail to `smtp`; `extra` is appended.
fs::path write_config(const MirrorFixture& mirror, const std::string& delay,
                      const std::string& monitor, const std::string& alerts,
                      const std::string& extra = "") {
    const fs::path path = mirror.root() / "fsmirror.yml";
    write_file(path, fmt::format(R"(syncs:
  - name: storage
    source: {}
    target: {}
    delay: {}
status_interval: 0.5
state_dir: {}
monitor:
  interval: 0.5
{}
alerts:
  rate_limit_window: 3600
{}
{}
)",
                                 mirror.source().string(), mirror.target().string(), delay,
                                 (mirror.root() / "state").string(), monitor, alerts, extra));
    return path;
}

std::string email_to(const SmtpSink& smtp) {
    return fmt::format("  email:\n    to: [ops@example.net]\n    from: fsmirror@test.invalid\n"
                       "    smtp_url: {}\n",
                       smtp.url());
}

std::size_t count(const std::vector<Mail>& mails, bool (*match)(const Mail&)) {
    return static_cast<std::size_t>(std::count_if(mails.begin(), mails.end(), match));
}

std::string describe(const std::vector<Mail>& mails) {
    std::string text;
    for (const auto& mail : mails)
        text += "--- " + mail.file + "\n" + mail.text.substr(0, 3000) + "\n";
    return text.empty() ? "(no mail)" : text;
}

} // namespace

TEST_CASE("a backlog alert is mailed once, repeats are counted, a recovery follows",
          "[integration][monitor][alerts][concurrent]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    const auto config = write_config(mirror, "4", "  backlog_threshold: 5", email_to(smtp));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);

    for (int i = 0; i < 20; ++i)
        write_file(mirror.source() / fmt::format("file-{:02}", i), "pending\n");

    static constexpr auto backlog_alert = [](const Mail& m) {
        return m.is_alert() && m.mentions("backlog: storage: ") &&
               m.mentions(" changes pending (threshold 5)");
    };
    static constexpr auto backlog_recovery = [](const Mail& m) {
        return m.is_recovery() && m.mentions("  - backlog: cleared after");
    };
    auto mails = smtp.wait_for(1, backlog_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails) << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(count(mails, backlog_alert) == 1);
    const Mail alert = *std::find_if(mails.begin(), mails.end(), backlog_alert);
    CHECK(alert.mentions("Subject: [ALERT] fsmirror health check failed on "));
    CHECK(alert.mentions("X-Envelope-To: ops@example.net"));
    CHECK(alert.mentions("From: fsmirror@test.invalid"));
    CHECK(alert.mentions("Service state (fsmirror pid"));
    CHECK(alert.mentions("Disk usage:"));
    CHECK(alert.mentions("Recent log lines:"));
    CHECK(alert.mentions("Commands to investigate:"));

    // The batch runs after the 4 s delay; meanwhile every check sees the backlog again.
    mails = smtp.wait_for(1, backlog_recovery, k_mail_timeout);
    REQUIRE(count(mails, backlog_recovery) == 1);
    CHECK(count(mails, backlog_alert) == 1);
    const Mail recovery = *std::find_if(mails.begin(), mails.end(), backlog_recovery);
    CHECK(recovery.mentions("Subject: [RESOLVED] fsmirror health check recovered on "));
    CHECK(recovery.mentions("suppressed since the last mail"));
    mirror.require_mirrored();

    // Nothing more arrives once things are calm.
    std::this_thread::sleep_for(1500ms);
    CHECK(smtp.mails().size() == mails.size());
    mirror.stop();
}

TEST_CASE("a nearly full target file system raises a disk-space alert, then recovers",
          "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    TmpfsMount target_fs(mirror.target(), "size=4m");
    const auto config = write_config(
        mirror, "0.2", "  disk_usage_percent: 50\n  disk_critical_percent: 99", email_to(smtp));
    // Other files, so that deleting the big one later is not a mass deletion the guard holds.
    for (int i = 0; i < 10; ++i)
        write_file(mirror.source() / fmt::format("small-{}.txt", i), "small\n");
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);

    write_file(mirror.source() / "big.bin", make_content(3 << 20, 7));
    mirror.require_mirrored();

    static constexpr auto disk_alert = [](const Mail& m) {
        return m.is_alert() && m.mentions("[WARNING] disk_space: storage: target file system");
    };
    static constexpr auto disk_recovery = [](const Mail& m) {
        return m.is_recovery() && m.mentions("  - disk_space: cleared after");
    };
    auto mails = smtp.wait_for(1, disk_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails) << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(count(mails, disk_alert) == 1);
    std::this_thread::sleep_for(1500ms); // three more checks: suppressed, not mailed
    CHECK(count(smtp.mails(), disk_alert) == 1);

    fs::remove(mirror.source() / "big.bin");
    mails = smtp.wait_for(1, disk_recovery, k_mail_timeout);
    REQUIRE(count(mails, disk_recovery) == 1);
    CHECK(count(mails, disk_alert) == 1);
    const Mail recovery = *std::find_if(mails.begin(), mails.end(), disk_recovery);
    CHECK(recovery.mentions("suppressed since the last mail"));
    mirror.stop();
}

TEST_CASE("failing transfers raise a sync-error alert with the error, then recover",
          "[integration][monitor][alerts][concurrent]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    fs::create_directories(mirror.source() / "ro");
    write_file(mirror.source() / "ro/data.txt", "cannot be written yet\n");
    TmpfsMount read_only(mirror.target() / "ro", "size=1m");
    read_only.remount("remount,ro");
    const auto config = write_config(mirror, "0.2", "", email_to(smtp));
    // The read-only mount makes the new target non-empty: this test is about the alert.
    mirror.start_with_args({"run", "--config", config.string(), "--skip-safety"}, std::nullopt, 1);

    static constexpr auto error_alert = [](const Mail& m) {
        return m.is_alert() && m.mentions("[WARNING] sync_errors: storage:") &&
               m.mentions("Read-only file system");
    };
    static constexpr auto error_recovery = [](const Mail& m) {
        return m.is_recovery() && m.mentions("  - sync_errors: cleared after");
    };
    auto mails = smtp.wait_for(1, error_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails) << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(count(mails, error_alert) == 1);

    read_only.remount("remount,rw");
    mails = smtp.wait_for(1, error_recovery, 40'000ms); // retries back off: 1, 2, 4, 8 s
    REQUIRE(count(mails, error_recovery) == 1);
    CHECK(count(mails, error_alert) == 1);
    CHECK(file_has_content(mirror.target() / "ro/data.txt", "cannot be written yet\n"));
    mirror.stop();
}

TEST_CASE("an unmounted volume raises a mount alert, and its return a recovery",
          "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    TmpfsMount volume(mirror.root() / "volume", "size=1m");
    const auto config = write_config(
        mirror, "0.2", fmt::format("  mountpoints: [{}]", (mirror.root() / "volume").string()),
        email_to(smtp));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);
    std::this_thread::sleep_for(1500ms);
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(smtp.mails().empty()); // mounted: healthy

    volume.unmount();
    static constexpr auto mount_alert = [](const Mail& m) {
        return m.is_alert() && m.mentions("[CRITICAL] mount: ") &&
               m.mentions("is not a mount point: the volume is not mounted");
    };
    static constexpr auto mount_recovery = [](const Mail& m) {
        return m.is_recovery() && m.mentions("  - mount: cleared after");
    };
    auto mails = smtp.wait_for(1, mount_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails));
    REQUIRE(count(mails, mount_alert) == 1);
    CHECK(mails.front().mentions("Health:  CRITICAL"));

    volume.mount_again();
    mails = smtp.wait_for(1, mount_recovery, k_mail_timeout);
    REQUIRE(count(mails, mount_recovery) == 1);
    CHECK(count(mails, mount_alert) == 1);
    mirror.stop();
}

TEST_CASE("a vanished source raises a critical source alert", "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    const auto config = write_config(mirror, "0.2", "", email_to(smtp));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);

    fs::rename(mirror.source(), mirror.root() / "source-moved-away");
    static constexpr auto source_alert = [](const Mail& m) {
        return m.is_alert() && m.mentions("[CRITICAL] source: storage: source ");
    };
    auto mails = smtp.wait_for(1, source_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails) << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(count(mails, source_alert) == 1);

    fs::rename(mirror.root() / "source-moved-away", mirror.source());
    static constexpr auto source_recovery = [](const Mail& m) {
        return m.is_recovery() && m.mentions("  - source: cleared after");
    };
    mails = smtp.wait_for(1, source_recovery, k_mail_timeout);
    REQUIRE(count(mails, source_recovery) == 1);
    mirror.stop();
}

TEST_CASE("a mail server that comes up late still gets the alert, with AUTH and a password file",
          "[integration][monitor][alerts][concurrent]") {
    MirrorFixture mirror;
    const int port = fsmirror::integration::free_local_port();
    const fs::path password = mirror.root() / "smtp.password";
    write_file(password, "s3cret\n");
    ::chmod(password.c_str(), 0600);
    const auto config = write_config(
        mirror, "4", "  backlog_threshold: 2",
        fmt::format("  retry_interval: 0.5\n  email:\n    to: ops@example.net\n    smtp_url: "
                    "smtp://127.0.0.1:{}\n    username: fsmirror\n    password_file: {}\n",
                    port, password.string()));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);
    for (int i = 0; i < 5; ++i)
        write_file(mirror.source() / fmt::format("f{}", i), "x\n");

    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(mirror.daemon().wait_for_log("cannot send alert", 15'000ms));
    CHECK(mirror.daemon().running()); // never fatal

    SmtpSink smtp(mirror.root(), std::string("fsmirror:s3cret"), port);
    static constexpr auto backlog_alert = [](const Mail& m) {
        return m.is_alert() && m.mentions("backlog: storage:");
    };
    auto mails = smtp.wait_for(1, backlog_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails));
    REQUIRE(count(mails, backlog_alert) == 1);
    // The sink has the mail as soon as it accepted the message, a moment before the daemon
    // hears the reply and logs the delivery.
    CHECK(mirror.daemon().wait_for_log("sent via smtp smtp://127.0.0.1", 5'000ms));
    mirror.stop();
}

TEST_CASE("mail over SMTP with STARTTLS required, trusting the server's CA",
          "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    const auto tls = fsmirror::integration::make_loopback_certificate(mirror.root());
    SmtpSink smtp(mirror.root(), std::string("fsmirror:s3cret"), 0, tls);
    fsmirror::integration::ScopedEnv password("FSMIRROR_TEST_SMTP_PASSWORD", "s3cret");
    const auto config = write_config(
        mirror, "4", "  backlog_threshold: 2",
        fmt::format("  email:\n    to: ops@example.net\n    smtp_url: {}\n    starttls: true\n"
                    "    ca_file: {}\n    username: fsmirror\n    password_env: "
                    "FSMIRROR_TEST_SMTP_PASSWORD\n",
                    smtp.url(), tls.certificate.string()));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);
    for (int i = 0; i < 5; ++i)
        write_file(mirror.source() / fmt::format("f{}", i), "x\n");
    static constexpr auto backlog_alert = [](const Mail& m) {
        return m.is_alert() && m.mentions("backlog: storage:");
    };
    auto mails = smtp.wait_for(1, backlog_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails) << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(count(mails, backlog_alert) == 1);
    mirror.stop();
}

TEST_CASE("a password file or config readable by everyone stops the start, naming the fix",
          "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    const fs::path password = mirror.root() / "smtp.password";
    write_file(password, "s3cret\n");
    ::chmod(password.c_str(), 0644);
    auto config = write_config(
        mirror, "1", "",
        fmt::format("  email:\n    to: ops@example.net\n    smtp_url: smtp://127.0.0.1:1\n    "
                    "username: u\n    password_file: {}\n",
                    password.string()));
    CHECK(mirror.run_to_completion({"run", "--config", config.string()}) == 1);
    config = write_config(mirror, "1", "",
                          "  email:\n    to: ops@example.net\n    smtp_url: smtp://127.0.0.1:1\n"
                          "    username: u\n    password: s3cret\n");
    ::chmod(config.c_str(), 0644);
    CHECK(mirror.run_to_completion({"run", "--config", config.string()}) == 2);
    const std::string output = read_file(mirror.root() / "run-2.log");
    CHECK_THAT(output, Catch::Contains("holds a secret"));
    CHECK_THAT(output, Catch::Contains("chmod o-rwx " + config.string()));
    CHECK_THAT(read_file(mirror.root() / "run-1.log"),
               Catch::Contains("chmod o-rwx " + password.string()));
}

TEST_CASE("msmtp-style and exec channels receive the alert", "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    const fs::path out = mirror.root() / "out";
    fs::create_directories(out);
    // Stand-ins that save what they read; the daemon runs them without a shell of its own.
    const auto config = write_config(
        mirror, "4", "  backlog_threshold: 2",
        fmt::format("  email:\n    to: ops@example.net\n    sendmail_command: [/bin/sh, -c, "
                    "'cat > \"$0\"/mail-$$.eml', {}]\n  exec:\n    command: [/bin/sh, -c, 'cat > "
                    "\"$0\"/alert-$$.json', {}]\n",
                    out.string(), out.string()));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);
    for (int i = 0; i < 5; ++i)
        write_file(mirror.source() / fmt::format("f{}", i), "x\n");

    std::string mail;
    std::string json;
    const bool both = wait_until(
        [&] {
            for (const auto& entry : fs::directory_iterator(out)) {
                const std::string name = entry.path().filename().string();
                if (name.starts_with("mail-"))
                    mail = read_file(entry.path());
                if (name.starts_with("alert-"))
                    json = read_file(entry.path());
            }
            return mail.find("Commands to investigate") != std::string::npos &&
                   json.find("\"event\":\"alert\"") != std::string::npos;
        },
        k_mail_timeout);
    INFO("mail:\n" << mail << "\njson:\n" << json << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(both);
    CHECK_THAT(mail, Catch::Contains("To: ops@example.net\n"));
    CHECK_THAT(mail, Catch::Contains("Subject: [ALERT] fsmirror health check failed on "));
    CHECK_THAT(json, Catch::Contains("\"kind\":\"backlog\""));
    CHECK_THAT(json, Catch::Contains("\"severity\":\"WARNING\""));
    mirror.stop();
}

TEST_CASE("deletions held by the mass-delete guard are a critical alert until resumed",
          "[integration][monitor][alerts][concurrent]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    for (int i = 0; i < 20; ++i)
        write_file(mirror.source() / fmt::format("file-{:02}", i), "kept\n");
    const auto config = write_config(mirror, "0.2", "", email_to(smtp));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);
    mirror.require_mirrored();

    for (int i = 0; i < 20; ++i)
        fs::remove(mirror.source() / fmt::format("file-{:02}", i));
    static constexpr auto guard_alert = [](const Mail& m) {
        return m.is_alert() &&
               m.mentions("[CRITICAL] mass_delete: storage: the mass-delete guard "
                          "holds 20 deletions") &&
               m.mentions("fsmirror resume --name storage");
    };
    static constexpr auto guard_recovery = [](const Mail& m) {
        return m.is_recovery() && m.mentions("  - mass_delete: cleared after");
    };
    auto mails = smtp.wait_for(1, guard_alert, k_mail_timeout);
    INFO("mails:\n" << describe(mails) << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(count(mails, guard_alert) == 1);
    CHECK(fs::exists(mirror.target() / "file-00"));

    REQUIRE(mirror.run_to_completion({"resume", "--config", config.string()}) == 0);
    mails = smtp.wait_for(1, guard_recovery, k_mail_timeout);
    REQUIRE(count(mails, guard_recovery) == 1);
    CHECK_FALSE(fs::exists(mirror.target() / "file-00"));
    mirror.stop();
}

TEST_CASE("fsmirror alert mails a unit's failure once per rate-limit window",
          "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    const auto config = write_config(mirror, "0.2", "", email_to(smtp));
    const std::vector<std::string> alert = {"alert",
                                            "--config",
                                            config.string(),
                                            "--unit",
                                            "fsmirror@db.service",
                                            "--message",
                                            "the daemon exited with status 1"};

    REQUIRE(mirror.run_to_completion(alert) == 0);
    static constexpr auto failure_mail = [](const Mail& m) {
        return m.mentions("Subject: [FAILED] fsmirror@db.service on ") &&
               m.mentions("the daemon exited with status 1") && m.mentions("Last journal lines:");
    };
    auto mails = smtp.wait_for(1, failure_mail, k_mail_timeout);
    INFO("mails:\n" << describe(mails));
    REQUIRE(count(mails, failure_mail) == 1);
    CHECK(fs::exists(mirror.root() / "state/alerts/fsmirror@db.service.sent"));

    // A unit failing every RestartSec must not mail every time.
    REQUIRE(mirror.run_to_completion(alert) == 0);
    std::this_thread::sleep_for(1000ms);
    CHECK(count(smtp.mails(), failure_mail) == 1);
}

TEST_CASE("fsmirror alert reports a unit whose configuration does not load",
          "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    SmtpSink smtp(mirror.root());
    // What fails fsmirror@db.service for good (exit 2, no restart) must still be mailed.
    const auto config = write_config(mirror, "0.2", "", email_to(smtp), "bogus_key: 1");
    REQUIRE(mirror.run_to_completion(
                {"alert", "--config", config.string(), "--unit", "fsmirror@db.service"}) == 0);
    static constexpr auto failure_mail = [](const Mail& m) {
        return m.mentions("Subject: [FAILED] fsmirror@db.service on ") &&
               m.mentions("The configuration does not load: ") &&
               m.mentions("unknown key 'bogus_key' at the top level");
    };
    auto mails = smtp.wait_for(1, failure_mail, k_mail_timeout);
    INFO("mails:\n" << describe(mails));
    CHECK(count(mails, failure_mail) == 1);
}

TEST_CASE("fsmirror alert without a channel fails and says so", "[integration][monitor][alerts]") {
    MirrorFixture mirror;
    const auto config = write_config(mirror, "0.2", "", "");
    CHECK(mirror.run_to_completion({"alert", "--config", config.string()}) == 1);
    CHECK_THAT(read_file(mirror.root() / "run-1.log"), Catch::Contains("has no alert channel"));
    CHECK(mirror.run_to_completion({"alert"}) == 2);
    CHECK_THAT(read_file(mirror.root() / "run-2.log"), Catch::Contains("needs --config FILE"));
}
