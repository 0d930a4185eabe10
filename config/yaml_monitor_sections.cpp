// The health-monitoring part of fsmirror.yml: the 'monitor' thresholds, the 'alerts' channels
// (email over SMTP or a sendmail-like command, an exec hook) and 'metrics'.

#include "config/yaml_monitor_sections.hpp"

#include <limits>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace fsmirror::config {

namespace {

constexpr std::string_view k_monitor_keys = "interval, backlog_threshold, backlog_max_age, "
                                            "disk_usage_percent, disk_critical_percent, "
                                            "inode_usage_percent, inotify_watch_percent, "
                                            "recovery_point, mountpoints";
constexpr std::string_view k_alerts_keys = "email, exec, rate_limit_window, retry_interval";
constexpr std::string_view k_email_keys = "to, from, smtp_url, username, password, "
                                          "password_file, password_env, starttls, ca_file, "
                                          "sendmail_command";
constexpr std::string_view k_exec_keys = "command";
constexpr std::string_view k_metrics_keys = "textfile, listen";

EmailAlertConfig parse_email(const YamlValueReader& reader, const YamlEntry& section) {
    EmailAlertConfig email;
    if (!section.value.IsMap())
        reader.fail_value(section,
                          fmt::format("'alerts.email' must be a mapping with at least 'to' and "
                                      "'smtp_url' or 'sendmail_command', got {}",
                                      describe_node(section.value)));
    bool has_to = false;
    for (const YamlEntry& e : reader.entries(section.value, "'alerts.email'")) {
        if (e.key == "to") {
            email.to = reader.parse_strings(e);
            has_to = true;
        } else if (e.key == "from") {
            email.from = reader.parse_string(e, "alerts.email.from");
        } else if (e.key == "smtp_url") {
            const std::string url = reader.parse_string(e, "alerts.email.smtp_url");
            if (!url.starts_with("smtp://") && !url.starts_with("smtps://"))
                reader.fail_value(e,
                                  fmt::format("'alerts.email.smtp_url' must start with smtp:// or "
                                              "smtps://, got {}",
                                              describe_node(e.value)));
            email.smtp_url = url;
        } else if (e.key == "username") {
            email.username = reader.parse_string(e, "alerts.email.username");
        } else if (e.key == "password") {
            email.password = reader.parse_string(e, "alerts.email.password");
        } else if (e.key == "password_file") {
            email.password_file = reader.parse_path(e, "alerts.email.password_file");
        } else if (e.key == "password_env") {
            email.password_env = reader.parse_string(e, "alerts.email.password_env");
        } else if (e.key == "starttls") {
            email.starttls = reader.parse_bool(e, "alerts.email.starttls");
        } else if (e.key == "ca_file") {
            email.ca_file = reader.parse_path(e, "alerts.email.ca_file");
        } else if (e.key == "sendmail_command") {
            email.sendmail_command = reader.parse_strings(e);
        } else {
            reader.fail_unknown(e, "in 'alerts.email'", k_email_keys);
        }
    }
    if (!has_to)
        reader.fail(section.key_mark, "'alerts.email.to' is required: one address or a list");
    if (email.smtp_url.has_value() == !email.sendmail_command.empty())
        reader.fail(section.key_mark, "'alerts.email' needs exactly one of 'smtp_url' (SMTP) and "
                                      "'sendmail_command' (msmtp, sendmail)");
    const int passwords =
        (email.password ? 1 : 0) + (email.password_file ? 1 : 0) + (email.password_env ? 1 : 0);
    if (passwords > 1)
        reader.fail(section.key_mark,
                    "'alerts.email' takes only one of 'password', 'password_file' "
                    "and 'password_env'");
    if (passwords > 0 && !email.username)
        reader.fail(section.key_mark, "'alerts.email' has a password but no 'username'");
    if (!email.smtp_url && (email.username || email.starttls || email.ca_file))
        reader.fail(section.key_mark, "'username', 'password*', 'starttls' and 'ca_file' in "
                                      "'alerts.email' only apply with 'smtp_url'");
    if (email.starttls && email.smtp_url && email.smtp_url->starts_with("smtps://"))
        reader.fail(section.key_mark,
                    "'starttls' is for smtp:// URLs; smtps:// is TLS from the start");
    return email;
}

} // namespace

MonitorConfig parse_monitor_section(const YamlValueReader& reader, const YamlEntry& section) {
    MonitorConfig monitor;
    reader.require_map(section, "monitor");
    if (section.value.IsNull())
        return monitor;
    for (const YamlEntry& e : reader.entries(section.value, "'monitor'")) {
        if (e.key == "interval") {
            monitor.interval_seconds = reader.parse_number(e, 0.1, k_max_delay_seconds);
        } else if (e.key == "backlog_threshold") {
            monitor.backlog_threshold = static_cast<std::size_t>(
                reader.parse_integer(e, 0, std::numeric_limits<std::size_t>::max()));
        } else if (e.key == "backlog_max_age") {
            monitor.backlog_max_age_seconds = reader.parse_number(e, 1, 30 * k_max_delay_seconds);
        } else if (e.key == "disk_usage_percent") {
            monitor.disk_usage_percent = reader.parse_number(e, 0, 100);
        } else if (e.key == "disk_critical_percent") {
            monitor.disk_critical_percent = reader.parse_number(e, 0, 100);
        } else if (e.key == "inode_usage_percent") {
            monitor.inode_usage_percent = reader.parse_number(e, 0, 100);
        } else if (e.key == "inotify_watch_percent") {
            monitor.inotify_watch_percent = reader.parse_number(e, 0, 100);
        } else if (e.key == "recovery_point") {
            monitor.recovery_point_seconds = reader.parse_number(e, 1, 30 * k_max_delay_seconds);
        } else if (e.key == "mountpoints") {
            for (const std::string& text : reader.parse_strings(e))
                monitor.mountpoints.push_back(
                    reader.parse_path(YamlEntry{e.key, e.key_mark, YAML::Node(text)}, e.key));
        } else {
            reader.fail_unknown(e, "in 'monitor'", k_monitor_keys);
        }
    }
    if (monitor.disk_critical_percent < monitor.disk_usage_percent)
        reader.fail(section.key_mark,
                    fmt::format("'monitor.disk_critical_percent' ({:g}) must not be below "
                                "'monitor.disk_usage_percent' ({:g})",
                                monitor.disk_critical_percent, monitor.disk_usage_percent));
    return monitor;
}
AlertsConfig parse_alerts_section(const YamlValueReader& reader, const YamlEntry& section) {
    AlertsConfig alerts;
    reader.require_map(section, "alerts");
    if (section.value.IsNull())
        return alerts;
    for (const YamlEntry& e : reader.entries(section.value, "'alerts'")) {
        if (e.key == "email") {
            alerts.email = parse_email(reader, e);
        } else if (e.key == "exec") {
            if (!e.value.IsMap())
                reader.fail_value(
                    e, fmt::format("'alerts.exec' must be a mapping with 'command', got {}",
                                   describe_node(e.value)));
            for (const YamlEntry& x : reader.entries(e.value, "'alerts.exec'")) {
                if (x.key == "command")
                    alerts.exec_command = reader.parse_strings(x);
                else
                    reader.fail_unknown(x, "in 'alerts.exec'", k_exec_keys);
            }
            if (alerts.exec_command.empty())
                reader.fail(e.key_mark, "'alerts.exec.command' is required (a program and its "
                                        "arguments, as a list)");
        } else if (e.key == "rate_limit_window") {
            alerts.rate_limit_window_seconds = reader.parse_number(e, 0, 7 * k_max_delay_seconds);
        } else if (e.key == "retry_interval") {
            alerts.retry_seconds = reader.parse_number(e, 0.1, k_max_delay_seconds);
        } else {
            reader.fail_unknown(e, "in 'alerts'", k_alerts_keys);
        }
    }
    return alerts;
}

MetricsConfig parse_metrics_section(const YamlValueReader& reader, const YamlEntry& section) {
    MetricsConfig metrics;
    reader.require_map(section, "metrics");
    if (section.value.IsNull())
        return metrics;
    for (const YamlEntry& e : reader.entries(section.value, "'metrics'")) {
        if (e.key == "textfile")
            metrics.textfile = reader.parse_path(e, "metrics.textfile");
        else if (e.key == "listen")
            metrics.listen = reader.parse_string(e, "metrics.listen");
        else
            reader.fail_unknown(e, "in 'metrics'", k_metrics_keys);
    }
    return metrics;
}

} // namespace fsmirror::config
