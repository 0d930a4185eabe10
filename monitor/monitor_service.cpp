#include "monitor/monitor_service.hpp"

#include "monitor/alert_message.hpp"
#include "monitor/metrics.hpp"
#include "monitor/status_file.hpp"
#include "monitor/status_json.hpp"
#include "monitor/system_probe.hpp"

#include <algorithm>
#include <system_error>

#include <fmt/format.h>

#include <unistd.h>

namespace fsmirror::monitor {

namespace {

using SteadyClock = std::chrono::steady_clock;

// A burst of significant events (a flapping mount) runs the checks at most this often.
constexpr std::chrono::milliseconds k_min_event_check_gap{1000};
// A sync that is neither copying nor in its initial sync publishes about every second; one
// silent for this long has a stuck thread, and the watchdog stops being fed.
constexpr std::chrono::seconds k_session_stall{60};

std::string alert_key(const Alert& alert) {
    return std::string(to_string(alert.kind)) + "/" + alert.subject;
}

std::string summary(const std::vector<SyncStatus>& syncs, const std::vector<Alert>& alerts) {
    std::size_t backlog = 0;
    for (const auto& sync : syncs)
        backlog += sync.backlog;
    std::string text = fmt::format("{} sync(s), backlog {}", syncs.size(), backlog);
    if (syncs.size() > 1) {
        std::vector<std::string> parts;
        for (const auto& sync : syncs)
            parts.push_back(fmt::format("{} {}", sync.name, sync.backlog));
        text += fmt::format(" ({})", fmt::join(parts, ", "));
    }
    text += fmt::format("; health {}", to_string(worst_severity(alerts)));
    if (!alerts.empty())
        text += ": " + alerts.front().message;
    return text;
}

} // namespace

HealthInput gather_health_input(const std::vector<SyncDescription>& descriptions,
                                const std::vector<SyncStatus>& syncs,
                                const std::vector<std::string>& mountpoints, WallTime now) {
    HealthInput input;
    input.now = now;
    for (const auto& description : descriptions) {
        SyncHealthInput sync;
        sync.name = description.name;
        sync.source = probe_path(description.source, Disk::no);
        if (description.target_path)
            sync.target = probe_path(*description.target_path, Disk::yes);
        const auto found = std::find_if(syncs.begin(), syncs.end(), [&](const SyncStatus& s) {
            return s.name == description.name;
        });
        if (found != syncs.end()) {
            sync.status = *found;
            input.watches_in_use += found->watch_count;
        }
        input.syncs.push_back(std::move(sync));
    }
    for (const auto& path : mountpoints)
        input.mountpoints.push_back(probe_path(path, Disk::no));
    input.max_user_watches = read_max_user_watches();
    return input;
}

MonitorService::MonitorService(MonitorOptions options, StatusBoard& board,
                               std::unique_ptr<Notifier> notifier, SystemdNotifier& systemd,
                               RecentLog recent_log, base::Logger& logger)
    : m_options(std::move(options)), m_board(board), m_notifier(std::move(notifier)),
      m_systemd(systemd), m_recent_log(std::move(recent_log)), m_logger(logger),
      m_hostname(host_name()), m_started(WallClock::now()), m_limiter(m_options.rate_limit_window) {
}

MonitorService::~MonitorService() {
    stop();
}

base::Status MonitorService::start() {
    for (const auto& path :
         {m_options.status_file, m_options.status_json, m_options.metrics_textfile}) {
        if (!path || path->parent_path().empty())
            continue;
        std::error_code ec;
        std::filesystem::create_directories(path->parent_path(), ec);
        if (ec)
            m_logger.warning("cannot create {} for {}: {}", path->parent_path().string(),
                             path->filename().string(), ec.message());
    }
    if (m_options.metrics_listen) {
        auto server = MetricsServer::start(
            *m_options.metrics_listen,
            [this] {
                std::lock_guard lock(m_metrics_mutex);
                return m_metrics_text;
            },
            m_logger);
        if (!server)
            return std::unexpected(server.error());
        m_metrics_server = std::move(*server);
        m_logger.info("metrics at http://{}:{}/metrics", m_options.metrics_listen->host,
                      m_metrics_server->port());
    }
    m_thread = std::jthread([this](std::stop_token stop) { run(stop); });
    return {};
}

void MonitorService::stop() {
    if (!m_thread.joinable())
        return;
    m_thread.request_stop();
    m_thread.join();
    m_metrics_server.reset();
    write_status();
}

void MonitorService::run(std::stop_token stop) {
    auto now = SteadyClock::now();
    auto next_status = now;
    auto next_check = now;
    auto last_check = now - m_options.check_interval;
    auto next_watchdog = now;
    const auto watchdog_every = m_systemd.watchdog_timeout()
                                    ? std::chrono::duration_cast<std::chrono::milliseconds>(
                                          *m_systemd.watchdog_timeout() / 2)
                                    : std::chrono::milliseconds(0);
    while (!stop.stop_requested()) {
        auto deadline = std::min(next_status, next_check);
        if (watchdog_every.count() > 0)
            deadline = std::min(deadline, next_watchdog);
        const bool changed = m_board.wait_for_change(deadline, stop);
        if (stop.stop_requested())
            break;
        now = SteadyClock::now();
        if (changed)
            next_check = std::min(next_check, last_check + k_min_event_check_gap);
        if (now >= next_check) {
            run_checks();
            last_check = now;
            next_check = now + m_options.check_interval;
        }
        if (now >= next_status || changed) {
            write_status();
            next_status = now + m_options.status_interval;
        }
        if (watchdog_every.count() > 0 && now >= next_watchdog) {
            if (sessions_alive(m_board.snapshot()))
                m_systemd.watchdog();
            else
                m_logger.error("a sync has not reported for {} s outside a transfer; not "
                               "feeding the systemd watchdog",
                               k_session_stall.count());
            next_watchdog = now + watchdog_every;
        }
    }
}

void MonitorService::run_checks() {
    const auto syncs = m_board.snapshot();
    const auto now = WallClock::now();
    auto input = gather_health_input(m_options.syncs, syncs, m_options.mountpoints, now);
    // Before a sync has published (still starting) there is nothing to judge it by.
    auto alerts = evaluate_health(input, m_options.thresholds);

    std::set<std::string> before;
    for (const auto& alert : m_alerts)
        before.insert(alert_key(alert));
    std::set<std::string> after;
    for (const auto& alert : alerts) {
        after.insert(alert_key(alert));
        if (!before.contains(alert_key(alert)))
            m_logger.warning("health {}: {}", to_string(alert.severity), alert.message);
    }
    for (const auto& alert : m_alerts)
        if (!after.contains(alert_key(alert)))
            m_logger.info("health: resolved: {}", alert.message);
    m_alerts = alerts;

    const AlertDecision decision = m_limiter.update(alerts, now);
    if (!decision.notify() && decision.recovered.empty())
        return;
    AlertContext context;
    context.hostname = m_hostname;
    context.status = build_report(syncs);
    for (const auto& sync : input.syncs)
        if (sync.target && sync.target->disk)
            context.status.target_disks[sync.name] = *sync.target->disk;
    context.recent_log =
        m_recent_log ? m_recent_log(m_options.mail_log_lines) : std::vector<std::string>{};
    if (m_options.status_file)
        context.status_file = m_options.status_file->string();
    context.config_file = m_options.config_file;
    if (decision.notify())
        m_notifier->submit(compose_alert(decision, context));
    if (!decision.recovered.empty())
        m_notifier->submit(compose_recovery(decision, context));
    for (const auto& [kind, count] : decision.suppressed)
        if (count > 0)
            m_logger.info("health: {} alert repeated; {} earlier check(s) were not mailed (rate "
                          "limit)",
                          to_string(kind), count);
}

StatusReport MonitorService::build_report(std::vector<SyncStatus> syncs) const {
    StatusReport report;
    report.written = WallClock::now();
    report.started = m_started;
    report.pid = static_cast<long>(::getpid());
    report.hostname = m_hostname;
    report.status_interval = m_options.status_interval;
    report.descriptions = m_options.syncs;
    report.syncs = std::move(syncs);
    report.alerts = m_alerts;
    return report;
}

void MonitorService::write_or_warn(const std::filesystem::path& path, const std::string& content) {
    const auto written = write_file_atomically(path, content);
    const std::string key = path.string();
    if (!written) {
        if (m_failing_writes.insert(key).second)
            m_logger.warning("{} (will keep trying every {} s)", written.error().message,
                             std::chrono::duration<double>(m_options.status_interval).count());
    } else if (m_failing_writes.erase(key) > 0) {
        m_logger.info("{} is written again", key);
    }
}

void MonitorService::write_status() {
    auto syncs = m_board.snapshot();
    StatusReport report = build_report(syncs);
    for (const auto& description : m_options.syncs)
        if (description.target_path)
            if (auto probe = probe_path(*description.target_path, Disk::yes); probe.disk)
                report.target_disks[description.name] = *probe.disk;
    if (m_options.status_file)
        write_or_warn(*m_options.status_file, format_status_file(report));
    if (m_options.status_json)
        write_or_warn(*m_options.status_json, status_to_json(report));
    std::string metrics = format_metrics(report);
    if (m_options.metrics_textfile)
        write_or_warn(*m_options.metrics_textfile, metrics);
    {
        std::lock_guard lock(m_metrics_mutex);
        m_metrics_text = std::move(metrics);
    }
    update_systemd(syncs);
}

void MonitorService::update_systemd(const std::vector<SyncStatus>& syncs) {
    if (!m_systemd.enabled())
        return;
    const std::size_t done = static_cast<std::size_t>(std::count_if(
        syncs.begin(), syncs.end(), [](const SyncStatus& s) { return s.initial_sync_done; }));
    if (!m_ready_sent && done >= m_options.syncs.size() && !syncs.empty()) {
        m_systemd.ready("mirroring: " + summary(syncs, m_alerts));
        m_ready_sent = true;
        return;
    }
    if (!m_ready_sent) {
        m_systemd.status(fmt::format("initial sync: {} of {} sync(s) done; {}", done,
                                     m_options.syncs.size(), summary(syncs, m_alerts)));
        // Keep systemd's start timeout (TimeoutStartSec) from killing a long initial sync
        // whose threads are alive; a stuck one stops these and times out as it should.
        if (sessions_alive(syncs))
            m_systemd.extend_start_timeout(std::max<std::chrono::microseconds>(
                3 * m_options.status_interval, std::chrono::seconds(30)));
    } else
        m_systemd.status("mirroring: " + summary(syncs, m_alerts));
}

bool MonitorService::sessions_alive(const std::vector<SyncStatus>& syncs) const {
    const auto now = WallClock::now();
    return std::all_of(syncs.begin(), syncs.end(), [&](const SyncStatus& sync) {
        const bool busy = sync.state == SyncState::initial_sync || sync.state == SyncState::syncing;
        return busy || sync.state == SyncState::stopped || now - sync.updated < k_session_stall;
    });
}

} // namespace fsmirror::monitor
