#include "monitor/status_json.hpp"

#include <nlohmann/json.hpp>

namespace fsmirror::monitor {

namespace {

using nlohmann::json;

// The status file lists up to k_max_reported_items per sync; the JSON, rewritten as often,
// keeps it smaller (`backlog` always has the full count).
constexpr std::size_t k_max_json_items = 1000;

double to_epoch(WallTime time) {
    return std::chrono::duration<double>(time.time_since_epoch()).count();
}

WallTime from_epoch(double seconds) {
    return WallTime(
        std::chrono::duration_cast<WallClock::duration>(std::chrono::duration<double>(seconds)));
}

json optional_time(const std::optional<WallTime>& time) {
    return time ? json(to_epoch(*time)) : json(nullptr);
}

std::optional<WallTime> read_optional_time(const json& value) {
    if (value.is_null())
        return std::nullopt;
    return from_epoch(value.get<double>());
}

json item_to_json(const BacklogItem& item) {
    json out{{"status", to_string(item.status)},
             {"type", item.type},
             {"path", item.path},
             {"directory", item.is_directory},
             {"since", to_epoch(item.since)}};
    if (!item.to_path.empty())
        out["to"] = item.to_path;
    return out;
}

json disk_to_json(const DiskUsage& disk) {
    return json{{"total_bytes", disk.total_bytes},
                {"available_bytes", disk.available_bytes},
                {"free_bytes", disk.free_bytes},
                {"total_inodes", disk.total_inodes},
                {"free_inodes", disk.free_inodes}};
}

DiskUsage disk_from_json(const json& in) {
    DiskUsage disk;
    disk.total_bytes = in.at("total_bytes").get<std::uint64_t>();
    disk.available_bytes = in.at("available_bytes").get<std::uint64_t>();
    disk.free_bytes = in.at("free_bytes").get<std::uint64_t>();
    disk.total_inodes = in.at("total_inodes").get<std::uint64_t>();
    disk.free_inodes = in.at("free_inodes").get<std::uint64_t>();
    return disk;
}

json sync_to_json(const SyncStatus& sync, const SyncDescription* description,
                  const DiskUsage* disk) {
    json items = json::array();
    for (const auto& item : sync.items) {
        if (items.size() >= k_max_json_items)
            break;
        items.push_back(item_to_json(item));
    }
    return json{
        {"name", sync.name},
        {"source", sync.source},
        {"target", sync.target},
        {"target_path",
         description && description->target_path ? json(*description->target_path) : json(nullptr)},
        {"excludes", description ? json(description->excludes) : json::array()},
        {"state", to_string(sync.state)},
        {"initial_sync_done", sync.initial_sync_done},
        {"backlog", sync.backlog},
        {"retrying", sync.retrying},
        {"held_deletions", sync.held_deletions},
        {"paused_reason", sync.paused_reason},
        {"oldest_pending", optional_time(sync.oldest_pending)},
        {"items", std::move(items)},
        {"watch_count", sync.watch_count},
        {"counters",
         {{"files_written", sync.counters.files_written},
          {"bytes_written", sync.counters.bytes_written},
          {"entries_removed", sync.counters.entries_removed},
          {"renames", sync.counters.renames},
          {"failures", sync.counters.failures}}},
        {"databases", sync.databases
                          ? json{{"snapshots", sync.databases->snapshots},
                                 {"snapshot_failures", sync.databases->snapshot_failures},
                                 {"databases_unmirrored", sync.databases->databases_unmirrored},
                                 {"unmirrored_age_ms", sync.databases->unmirrored_age_ms},
                                 {"last_recovery_point_ms", sync.databases->last_recovery_point_ms},
                                 {"max_recovery_point_ms", sync.databases->max_recovery_point_ms}}
                          : json(nullptr)},
        {"last_error", sync.last_error},
        {"last_error_time", optional_time(sync.last_error_time)},
        {"last_success_time", optional_time(sync.last_success_time)},
        {"started", to_epoch(sync.started)},
        {"updated", to_epoch(sync.updated)},
        {"target_disk", disk ? disk_to_json(*disk) : json(nullptr)},
    };
}

BacklogItem item_from_json(const json& in) {
    BacklogItem item;
    item.status = parse_item_status(in.at("status").get<std::string>()).value_or(ItemStatus::wait);
    item.type = in.at("type").get<std::string>();
    item.path = in.at("path").get<std::string>();
    item.is_directory = in.value("directory", false);
    item.to_path = in.value("to", std::string());
    item.since = from_epoch(in.at("since").get<double>());
    return item;
}

void sync_from_json(const json& in, StatusReport& report) {
    SyncStatus sync;
    SyncDescription description;
    sync.name = in.at("name").get<std::string>();
    sync.source = in.at("source").get<std::string>();
    sync.target = in.at("target").get<std::string>();
    description.name = sync.name;
    description.source = sync.source;
    if (!in.at("target_path").is_null())
        description.target_path = in.at("target_path").get<std::string>();
    description.excludes = in.value("excludes", std::vector<std::string>{});
    const auto state_name = in.at("state").get<std::string>();
    const auto state = parse_sync_state(state_name);
    if (!state)
        throw std::runtime_error("unknown sync state '" + state_name + "'");
    sync.state = *state;
    sync.initial_sync_done = in.at("initial_sync_done").get<bool>();
    sync.backlog = in.at("backlog").get<std::size_t>();
    sync.retrying = in.at("retrying").get<std::size_t>();
    sync.held_deletions = in.value("held_deletions", std::size_t{0});
    sync.paused_reason = in.value("paused_reason", std::string());
    sync.oldest_pending = read_optional_time(in.at("oldest_pending"));
    for (const auto& item : in.at("items"))
        sync.items.push_back(item_from_json(item));
    sync.watch_count = in.at("watch_count").get<std::size_t>();
    const auto& counters = in.at("counters");
    sync.counters.files_written = counters.at("files_written").get<std::uint64_t>();
    sync.counters.bytes_written = counters.at("bytes_written").get<std::uint64_t>();
    sync.counters.entries_removed = counters.at("entries_removed").get<std::uint64_t>();
    sync.counters.renames = counters.at("renames").get<std::uint64_t>();
    sync.counters.failures = counters.at("failures").get<std::uint64_t>();
    if (in.contains("databases") && !in.at("databases").is_null()) {
        const auto& db = in.at("databases");
        sync.databases = DatabaseFigures{db.at("snapshots").get<std::uint64_t>(),
                                         db.at("snapshot_failures").get<std::uint64_t>(),
                                         db.at("databases_unmirrored").get<std::uint64_t>(),
                                         db.at("unmirrored_age_ms").get<std::uint64_t>(),
                                         db.at("last_recovery_point_ms").get<std::uint64_t>(),
                                         db.at("max_recovery_point_ms").get<std::uint64_t>()};
    }
    sync.last_error = in.at("last_error").get<std::string>();
    sync.last_error_time = read_optional_time(in.at("last_error_time"));
    sync.last_success_time = read_optional_time(in.at("last_success_time"));
    sync.started = from_epoch(in.at("started").get<double>());
    sync.updated = from_epoch(in.at("updated").get<double>());
    if (in.contains("target_disk") && !in.at("target_disk").is_null())
        report.target_disks[sync.name] = disk_from_json(in.at("target_disk"));
    report.syncs.push_back(std::move(sync));
    report.descriptions.push_back(std::move(description));
}

} // namespace

std::string status_to_json(const StatusReport& report) {
    json syncs = json::array();
    for (const auto& sync : report.syncs) {
        const auto disk = report.target_disks.find(sync.name);
        syncs.push_back(sync_to_json(sync, report.description(sync.name),
                                     disk == report.target_disks.end() ? nullptr : &disk->second));
    }
    json alerts = json::array();
    for (const auto& alert : report.alerts)
        alerts.push_back(json{{"kind", to_string(alert.kind)},
                              {"severity", to_string(alert.severity)},
                              {"subject", alert.subject},
                              {"message", alert.message}});
    const json document{
        {"version", k_status_json_version},
        {"written", to_epoch(report.written)},
        {"started", to_epoch(report.started)},
        {"pid", report.pid},
        {"hostname", report.hostname},
        {"status_interval", std::chrono::duration<double>(report.status_interval).count()},
        {"syncs", std::move(syncs)},
        {"alerts", std::move(alerts)},
    };
    // Invalid UTF-8 in a file name must not make the whole status unwritable.
    return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

base::Result<StatusReport> status_from_json(const std::string& text) {
    try {
        const json document = json::parse(text);
        const int version = document.at("version").get<int>();
        if (version > k_status_json_version)
            return base::fail(base::ErrorKind::protocol,
                              "status was written by a newer fsmirror (format version " +
                                  std::to_string(version) + ")");
        StatusReport report;
        report.written = from_epoch(document.at("written").get<double>());
        report.started = from_epoch(document.at("started").get<double>());
        report.pid = document.at("pid").get<long>();
        report.hostname = document.at("hostname").get<std::string>();
        report.status_interval = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::duration<double>(document.at("status_interval").get<double>()));
        for (const auto& sync : document.at("syncs"))
            sync_from_json(sync, report);
        for (const auto& alert : document.at("alerts")) {
            const auto kind = parse_alert_kind(alert.at("kind").get<std::string>());
            const auto severity = parse_severity(alert.at("severity").get<std::string>());
            if (!kind || !severity)
                return base::fail(base::ErrorKind::protocol, "unknown alert kind or severity");
            report.alerts.push_back(Alert{*kind, *severity, alert.at("subject").get<std::string>(),
                                          alert.at("message").get<std::string>()});
        }
        return report;
    } catch (const std::exception& error) {
        return base::fail(base::ErrorKind::protocol,
                          std::string("malformed status document: ") + error.what());
    }
}

} // namespace fsmirror::monitor
