// The status, monitor, alerts and metrics keys of the YAML configuration.

#include "config/yaml_loader.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace fsmirror;
using config::ConfigError;

namespace {

const std::string k_syncs = "syncs:\n  - source: /srv/a\n    target: /mnt/b\n";

config::Config load(const std::string& text) {
    return config::load_yaml_config_text(k_syncs + text, "/etc/fsmirror/fsmirror.yml",
                                         "/etc/fsmirror");
}

std::string error_of(const std::string& text) {
    try {
        load(text);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

} // namespace

TEST_CASE("monitoring defaults when nothing is set", "[config][monitor]") {
    const auto config = load("");
    CHECK_FALSE(config.status_file);
    CHECK(config.status_interval_seconds == 10);
    CHECK_FALSE(config.state_dir); // resolved at startup: $STATE_DIRECTORY or /var/lib/fsmirror
    CHECK(config.monitor.interval_seconds == 300);
    CHECK(config.monitor.backlog_threshold == 100);
    CHECK(config.monitor.disk_usage_percent == 90);
    CHECK_FALSE(config.alerts.email);
    CHECK(config.alerts.exec_command.empty());
    CHECK(config.alerts.rate_limit_window_seconds == 3600);
    CHECK_FALSE(config.metrics.listen);
}

TEST_CASE("every monitoring key is read", "[config][monitor]") {
    const auto config = load(R"(status_file: /var/log/fsmirror/fsmirror.status
status_interval: 2.5
state_dir: state
monitor:
  interval: 60
  backlog_threshold: 10
  backlog_max_age: 120
  disk_usage_percent: 80
  disk_critical_percent: 95.5
  inode_usage_percent: 70
  inotify_watch_percent: 50
  recovery_point: 90
  mountpoints: [/mnt/storage_do_1, /mnt/storage_do_2]
alerts:
  email:
    to: [ops@example.net, oncall@example.net]
    from: fsmirror@db1.example.net
    smtp_url: smtp://mail.example.net:587
    username: fsmirror
    password_env: FSMIRROR_SMTP_PASSWORD
    starttls: true
    ca_file: ca.pem
  exec:
    command: [/usr/local/bin/notify, --channel, ops]
  rate_limit_window: 900
  retry_interval: 5
metrics:
  textfile: /var/lib/node_exporter/textfile_collector/fsmirror.prom
  listen: "9775"
)");
    CHECK(config.status_file == "/var/log/fsmirror/fsmirror.status");
    CHECK(config.status_interval_seconds == 2.5);
    CHECK(config.state_dir == "/etc/fsmirror/state");
    CHECK(config.monitor.interval_seconds == 60);
    CHECK(config.monitor.backlog_threshold == 10);
    CHECK(config.monitor.backlog_max_age_seconds == 120);
    CHECK(config.monitor.disk_usage_percent == 80);
    CHECK(config.monitor.disk_critical_percent == 95.5);
    CHECK(config.monitor.inode_usage_percent == 70);
    CHECK(config.monitor.inotify_watch_percent == 50);
    CHECK(config.monitor.recovery_point_seconds == 90);
    CHECK(config.monitor.mountpoints ==
          std::vector<std::filesystem::path>{"/mnt/storage_do_1", "/mnt/storage_do_2"});
    REQUIRE(config.alerts.email);
    const auto& email = *config.alerts.email;
    CHECK(email.to == std::vector<std::string>{"ops@example.net", "oncall@example.net"});
    CHECK(email.from == "fsmirror@db1.example.net");
    CHECK(email.smtp_url == "smtp://mail.example.net:587");
    CHECK(email.username == "fsmirror");
    CHECK(email.password_env == "FSMIRROR_SMTP_PASSWORD");
    CHECK(email.starttls);
    CHECK(email.ca_file == "/etc/fsmirror/ca.pem");
    CHECK(config.alerts.exec_command ==
          std::vector<std::string>{"/usr/local/bin/notify", "--channel", "ops"});
    CHECK(config.alerts.rate_limit_window_seconds == 900);
    CHECK(config.alerts.retry_seconds == 5);
    CHECK(config.metrics.textfile == "/var/lib/node_exporter/textfile_collector/fsmirror.prom");
    CHECK(config.metrics.listen == "9775");
}

TEST_CASE("msmtp as the mail command", "[config][monitor]") {
    const auto config = load("alerts:\n  email:\n    to: ops@example.net\n    sendmail_command: "
                             "[/usr/bin/msmtp, -t]\n");
    REQUIRE(config.alerts.email);
    CHECK(config.alerts.email->to == std::vector<std::string>{"ops@example.net"});
    CHECK(config.alerts.email->sendmail_command ==
          std::vector<std::string>{"/usr/bin/msmtp", "-t"});
}

TEST_CASE("monitoring mistakes are refused with their place", "[config][monitor]") {
    CHECK_THAT(error_of("monitor:\n  intervall: 5\n"),
               Catch::Contains("fsmirror.yml:5:3: unknown key 'intervall' in 'monitor'"));
    CHECK_THAT(error_of("monitor:\n  disk_usage_percent: 101\n"),
               Catch::Contains("'disk_usage_percent' must be a number from 0 to 100"));
    CHECK_THAT(error_of("monitor:\n  disk_usage_percent: 99\n"),
               Catch::Contains("must not be below"));
    CHECK_THAT(error_of("status_interval: 0\n"),
               Catch::Contains("'status_interval' must be a number from 0.1"));
    CHECK_THAT(error_of("alerts:\n  email:\n    smtp_url: smtp://x\n"),
               Catch::Contains("'alerts.email.to' is required"));
    CHECK_THAT(error_of("alerts:\n  email:\n    to: a@b\n"),
               Catch::Contains("exactly one of 'smtp_url'"));
    CHECK_THAT(error_of("alerts:\n  email:\n    to: a@b\n    smtp_url: http://x\n"),
               Catch::Contains("must start with smtp:// or smtps://"));
    CHECK_THAT(error_of("alerts:\n  email:\n    to: a@b\n    smtp_url: smtp://x\n    "
                        "password_env: P\n"),
               Catch::Contains("has a password but no 'username'"));
    CHECK_THAT(error_of("alerts:\n  email:\n    to: a@b\n    smtp_url: smtp://x\n    username: "
                        "u\n    password_env: P\n    password_file: /f\n"),
               Catch::Contains("only one of 'password'"));
    CHECK_THAT(error_of("alerts:\n  email:\n    to: a@b\n    sendmail_command: msmtp\n    "
                        "starttls: true\n"),
               Catch::Contains("only apply with 'smtp_url'"));
    CHECK_THAT(error_of("alerts:\n  exec: {}\n"), Catch::Contains("'alerts.exec.command' is "
                                                                  "required"));
    CHECK_THAT(error_of("metrics:\n  port: 1\n"), Catch::Contains("unknown key 'port' in "
                                                                  "'metrics'"));
}

TEST_CASE("a config file holding a password must not be readable by everyone",
          "[config][monitor]") {
    test_support::TempDir dir;
    const auto path = dir / "fsmirror.yml";
    test_support::write_file(path, k_syncs + "alerts:\n  email:\n    to: a@b\n    smtp_url: "
                                             "smtp://x\n    username: u\n    password: s3cret\n");
    ::chmod(path.c_str(), 0644);
    try {
        config::load_yaml_config_file(path);
        FAIL("a world-readable secret was accepted");
    } catch (const ConfigError& error) {
        CHECK_THAT(error.what(), Catch::Contains(path.string() + " holds a secret"));
        CHECK_THAT(error.what(), Catch::Contains("chmod o-rwx " + path.string()));
    }
    ::chmod(path.c_str(), 0640);
    CHECK(config::load_yaml_config_file(path).alerts.email->password == "s3cret");
}

TEST_CASE("the alert settings of a configuration that does not load are still read",
          "[config][monitor]") {
    test_support::TempDir dir;
    const auto path = dir / "broken.yml";
    // A typo in a sync and an unknown top-level key: the whole file is refused, the alert
    // settings (what `fsmirror alert` needs to report that failure) are not.
    test_support::write_file(path, "syncs:\n  - source: /srv/a\n    target: /mnt/b\n"
                                   "    dealy: 1\nfuture_key: 1\nstate_dir: state\n"
                                   "alerts:\n  rate_limit_window: 60\n  email:\n"
                                   "    to: ops@example.org\n    smtp_url: smtp://127.0.0.1:25\n");
    CHECK_THROWS_AS(config::load_yaml_config_file(path), ConfigError);
    const auto settings = config::load_yaml_alert_settings_file(path);
    REQUIRE(settings.alerts.email);
    CHECK(settings.alerts.email->to == std::vector<std::string>{"ops@example.org"});
    CHECK(settings.alerts.rate_limit_window_seconds == 60);
    CHECK(settings.state_dir == dir.path() / "state");
    CHECK(settings.syncs.empty());

    SECTION("a mistake in the alerts section itself is still refused, with its place") {
        test_support::write_file(path, "alerts:\n  email:\n    too: ops@example.org\n");
        CHECK_THROWS_WITH(config::load_yaml_alert_settings_file(path),
                          Catch::Contains(path.string() + ":3:5: unknown key 'too'"));
    }
    SECTION("as is a file that is not YAML, or not there") {
        test_support::write_file(path, "alerts: [\n");
        CHECK_THROWS_WITH(config::load_yaml_alert_settings_file(path),
                          Catch::Contains("YAML syntax error"));
        CHECK_THROWS_AS(config::load_yaml_alert_settings_file(dir / "missing.yml"), ConfigError);
    }
    SECTION("and an inline password still makes a world-readable file an error") {
        test_support::write_file(path, "syncs: 3\nalerts:\n  email:\n    to: a@b\n    smtp_url: "
                                       "smtp://x\n    username: u\n    password: s3cret\n");
        ::chmod(path.c_str(), 0644);
        CHECK_THROWS_WITH(config::load_yaml_alert_settings_file(path),
                          Catch::Contains("holds a secret"));
    }
}
