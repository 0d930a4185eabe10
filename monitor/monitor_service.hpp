#pragma once
// The daemon's monitor thread: every status_interval it rewrites the status files and the
// metrics; every check interval (and soon after a significant event) it runs the health checks
// and hands alerts and recoveries to the notifier; it tells systemd when the service is ready
// and pings its watchdog while healthy.

#include "base/logger.hpp"
#include "monitor/alert_limiter.hpp"
#include "monitor/metrics_server.hpp"
#include "monitor/notifier.hpp"
#include "monitor/status_board.hpp"
#include "monitor/status_report.hpp"
#include "monitor/systemd_notify.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace fsmirror::monitor {

struct MonitorOptions {
    std::vector<SyncDescription> syncs;
    std::optional<std::filesystem::path> status_file; // lsyncd's layout
    std::optional<std::filesystem::path> status_json; // for `fsmirror status` and `health`
    std::chrono::milliseconds status_interval{10'000};
    std::chrono::milliseconds check_interval{300'000};
    HealthThresholds thresholds;
    std::vector<std::string> mountpoints;
    std::chrono::seconds rate_limit_window{3600};
    std::optional<std::filesystem::path> metrics_textfile;
    std::optional<ListenAddress> metrics_listen;
    std::optional<std::string> config_file; // named in mails' "commands to investigate"
    std::size_t mail_log_lines = 20;
};

// Returns the last `count` log lines, oldest first.
using RecentLog = std::function<std::vector<std::string>(std::size_t count)>;

// Gathers everything the health checks need about `syncs`: probes of sources, targets and
// mount points, and the inotify limit. Shared with `fsmirror health`.
HealthInput gather_health_input(const std::vector<SyncDescription>& descriptions,
                                const std::vector<SyncStatus>& syncs,
                                const std::vector<std::string>& mountpoints, WallTime now);

class MonitorService {
public:
    MonitorService(MonitorOptions options, StatusBoard& board, std::unique_ptr<Notifier> notifier,
                   SystemdNotifier& systemd, RecentLog recent_log, base::Logger& logger);

    // Stops the thread (see stop()).
    ~MonitorService();

    MonitorService(const MonitorService&) = delete;
    MonitorService& operator=(const MonitorService&) = delete;

    // Creates the status directories, binds the metrics listener and starts the thread.
    // Returns the reason when the metrics listener cannot be bound (a configuration error).
    base::Status start();

    // Stops the thread and writes the status one last time (syncs shown as they ended).
    void stop();

private:
    void run(std::stop_token stop);
    void run_checks();
    void write_status();
    void update_systemd(const std::vector<SyncStatus>& syncs);
    bool sessions_alive(const std::vector<SyncStatus>& syncs) const;
    StatusReport build_report(std::vector<SyncStatus> syncs) const;
    void write_or_warn(const std::filesystem::path& path, const std::string& content);

    MonitorOptions m_options;
    StatusBoard& m_board;
    std::unique_ptr<Notifier> m_notifier;
    SystemdNotifier& m_systemd;
    RecentLog m_recent_log;
    base::Logger& m_logger;
    const std::string m_hostname;
    const WallTime m_started;

    // Touched by the monitor thread only.
    AlertLimiter m_limiter;
    std::vector<Alert> m_alerts;
    std::set<std::string> m_failing_writes;
    bool m_ready_sent = false;

    std::mutex m_metrics_mutex; // the listener thread reads m_metrics_text
    std::string m_metrics_text;
    std::unique_ptr<MetricsServer> m_metrics_server;
    std::jthread m_thread;
};

} // namespace fsmirror::monitor
