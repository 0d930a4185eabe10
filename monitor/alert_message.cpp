#include "monitor/alert_message.hpp"

#include "monitor/status_file.hpp"

#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include <fmt/format.h>

namespace fsmirror::monitor {

namespace {

using nlohmann::json;

std::string alert_line(const Alert& alert) {
    return fmt::format("  - [{}] {}: {}", to_string(alert.severity), to_string(alert.kind),
                       alert.message);
}

std::string ago(WallTime now, WallTime then) {
    return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - then)) + " ago";
}

void append_header(std::string& out, const std::string& title, const AlertContext& context,
                   Severity health) {
    out += title + "\n\n";
    out += fmt::format("Time:    {}\n", lsyncd_date(context.status.written));
    out += fmt::format("Host:    {}\n", context.hostname);
    out += fmt::format("Health:  {}\n\n", to_string(health));
}

void append_service_state(std::string& out, const AlertContext& context) {
    const auto& status = context.status;
    out += fmt::format("Service state (fsmirror pid {}, up {}):\n", status.pid,
                       human_duration(std::chrono::duration_cast<std::chrono::seconds>(
                           status.written - status.started)));
    if (status.syncs.empty())
        out += "  no sync has reported yet\n";
    for (const auto& sync : status.syncs) {
        out += fmt::format(
            "  {}: {}{}, {} pending ({} retrying), {} files written, {} failures, "
            "last success {}\n",
            sync.name, to_string(sync.state),
            sync.initial_sync_done ? "" : " (initial sync not finished)", sync.backlog,
            sync.retrying, sync.counters.files_written, sync.counters.failures,
            sync.last_success_time ? ago(status.written, *sync.last_success_time) : "never");
        out += fmt::format("    {} -> {}\n", sync.source, sync.target);
        if (!sync.last_error.empty())
            out +=
                fmt::format("    last error ({}): {}\n",
                            sync.last_error_time ? ago(status.written, *sync.last_error_time) : "?",
                            sync.last_error);
    }
    out += "\n";
}

void append_disk_usage(std::string& out, const AlertContext& context) {
    out += "Disk usage:\n";
    bool any = false;
    for (const auto& description : context.status.descriptions) {
        const auto disk = context.status.target_disks.find(description.name);
        if (!description.target_path || disk == context.status.target_disks.end())
            continue;
        any = true;
        out +=
            fmt::format("  {} target {}: {:.1f}% used, {} free of {}, inodes {:.1f}% used\n",
                        description.name, *description.target_path, disk->second.used_percent(),
                        human_bytes(disk->second.available_bytes),
                        human_bytes(disk->second.total_bytes), disk->second.inodes_used_percent());
    }
    if (!any)
        out += "  not available\n";
    out += "\n";
}

void append_log_and_commands(std::string& out, const AlertContext& context) {
    out += "Recent log lines:\n";
    if (context.recent_log.empty())
        out += "  (none)\n";
    for (const auto& line : context.recent_log)
        out += "  " + line + "\n";
    out += "\nCommands to investigate:\n";
    out += "  systemctl status fsmirror\n";
    out += "  journalctl -u fsmirror -n 100 --no-pager\n";
    const std::string config = context.config_file ? " --config " + *context.config_file : "";
    out += "  fsmirror status" + config + "\n";
    out += "  fsmirror health" + config + "\n";
    if (context.status_file)
        out += "  cat " + *context.status_file + "\n";
    for (const auto& description : context.status.descriptions)
        if (description.target_path)
            out += "  df -h " + *description.target_path + "\n";
}

json alert_json(const Alert& alert) {
    return json{{"kind", to_string(alert.kind)},
                {"severity", to_string(alert.severity)},
                {"subject", alert.subject},
                {"message", alert.message}};
}

json notification_json(const char* event, const Notification& notification,
                       const AlertDecision& decision, const AlertContext& context) {
    json due = json::array();
    for (const auto& alert : decision.due)
        due.push_back(alert_json(alert));
    json current = json::array();
    for (const auto& alert : decision.current)
        current.push_back(alert_json(alert));
    json suppressed = json::object();
    for (const auto& [kind, count] : decision.suppressed)
        suppressed[to_string(kind)] = count;
    json recovered = json::array();
    for (const auto& recovery : decision.recovered) {
        json messages = json::array();
        for (const auto& alert : recovery.last_alerts)
            messages.push_back(alert.message);
        recovered.push_back(json{{"kind", to_string(recovery.kind)},
                                 {"lasted_seconds", recovery.lasted.count()},
                                 {"suppressed", recovery.suppressed},
                                 {"messages", std::move(messages)}});
    }
    return json{
        {"event", event},
        {"host", context.hostname},
        {"time", std::chrono::duration<double>(context.status.written.time_since_epoch()).count()},
        {"health", to_string(worst_severity(decision.current))},
        {"subject", notification.subject},
        {"alerts", std::move(due)},
        {"current", std::move(current)},
        {"suppressed", std::move(suppressed)},
        {"recovered", std::move(recovered)},
        {"body", notification.body},
    };
}

std::string dump(const json& document) {
    return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

Notification compose_alert(const AlertDecision& decision, const AlertContext& context) {
    Notification notification;
    notification.type = Notification::Type::alert;
    notification.subject =
        fmt::format("[ALERT] fsmirror health check failed on {}", context.hostname);
    std::string& out = notification.body;
    append_header(out, "fsmirror health check failed on " + context.hostname, context,
                  worst_severity(decision.current));

    out += "Issues:\n";
    std::set<AlertKind> due_kinds;
    for (const auto& alert : decision.due) {
        due_kinds.insert(alert.kind);
        out += alert_line(alert) + "\n";
    }
    for (const auto& [kind, count] : decision.suppressed)
        if (count > 0)
            out += fmt::format("    ({}: {} more check(s) found this since the last mail; "
                               "suppressed by the rate limit)\n",
                               to_string(kind), count);
    bool header = false;
    for (const auto& alert : decision.current) {
        if (due_kinds.contains(alert.kind))
            continue;
        if (!header)
            out += "Still failing (already reported):\n";
        header = true;
        out += alert_line(alert) + "\n";
    }
    out += "\n";
    append_service_state(out, context);
    append_disk_usage(out, context);
    append_log_and_commands(out, context);
    notification.json = dump(notification_json("alert", notification, decision, context));
    return notification;
}

Notification compose_recovery(const AlertDecision& decision, const AlertContext& context) {
    Notification notification;
    notification.type = Notification::Type::recovery;
    const bool all_clear = decision.current.empty();
    notification.subject =
        fmt::format("[RESOLVED] fsmirror health check {} on {}",
                    all_clear ? "recovered" : "partly recovered", context.hostname);
    std::string& out = notification.body;
    append_header(out,
                  fmt::format("fsmirror health check {} on {}",
                              all_clear ? "recovered" : "partly recovered", context.hostname),
                  context, worst_severity(decision.current));
    out += "Resolved:\n";
    for (const auto& recovery : decision.recovered) {
        out += fmt::format("  - {}: cleared after {}", to_string(recovery.kind),
                           human_duration(recovery.lasted));
        if (recovery.suppressed > 0)
            out +=
                fmt::format(" ({} check(s) suppressed since the last mail)", recovery.suppressed);
        out += "\n";
        for (const auto& alert : recovery.last_alerts)
            out += "      was: " + alert.message + "\n";
    }
    if (!all_clear) {
        out += "Still failing:\n";
        for (const auto& alert : decision.current)
            out += alert_line(alert) + "\n";
    }
    out += "\n";
    append_service_state(out, context);
    append_disk_usage(out, context);
    append_log_and_commands(out, context);
    notification.json = dump(notification_json("recovery", notification, decision, context));
    return notification;
}

std::string rfc5322_date(WallTime time) {
    static constexpr const char* k_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t seconds = WallClock::to_time_t(time);
    std::tm local{};
    localtime_r(&seconds, &local);
    const long offset = local.tm_gmtoff / 60;
    // Names spelled out, not strftime's %a/%b: those follow the locale.
    return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} {}{:02}{:02}", k_days[local.tm_wday],
                       local.tm_mday, k_months[local.tm_mon], local.tm_year + 1900, local.tm_hour,
                       local.tm_min, local.tm_sec, offset < 0 ? '-' : '+', std::abs(offset) / 60,
                       std::abs(offset) % 60);
}

std::string format_mail(const Notification& notification, const MailEnvelope& envelope,
                        WallTime date, const std::string& message_id) {
    std::string to;
    for (const auto& address : envelope.to)
        to += (to.empty() ? "" : ", ") + address;
    std::string out;
    out += "From: " + envelope.from + "\r\n";
    out += "To: " + to + "\r\n";
    out += "Subject: " + notification.subject + "\r\n";
    out += "Date: " + rfc5322_date(date) + "\r\n";
    out += "Message-ID: <" + message_id + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Transfer-Encoding: 8bit\r\n";
    out += "Auto-Submitted: auto-generated\r\n";
    out += "X-Fsmirror-Event: ";
    out += notification.type == Notification::Type::alert ? "alert" : "recovery";
    out += "\r\n\r\n";
    for (char c : notification.body) {
        if (c == '\n')
            out += "\r\n";
        else if (c != '\r')
            out += c;
    }
    return out;
}

} // namespace fsmirror::monitor
