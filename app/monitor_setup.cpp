#include "app/monitor_setup.hpp"

#include "app/control_files.hpp"
#include "app/session_factory.hpp"
#include "monitor/exec_channel.hpp"
#include "monitor/metrics_server.hpp"
#include "monitor/sendmail_channel.hpp"
#include "monitor/smtp_channel.hpp"
#include "monitor/system_probe.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include <sys/stat.h>

namespace fsmirror::app {

namespace {

using std::chrono::duration;
using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;

milliseconds to_ms(double seconds_value) {
    return duration_cast<milliseconds>(duration<double>(seconds_value));
}

std::string resolve_password(const config::EmailAlertConfig& email) {
    if (email.password)
        return *email.password;
    if (email.password_file)
        return read_password_file(*email.password_file);
    if (email.password_env) {
        const char* value = std::getenv(email.password_env->c_str());
        if (value == nullptr || value[0] == '\0')
            throw StartupError(fmt::format("alerts.email.password_env names {}, but it is not "
                                           "set in fsmirror's environment (systemd: "
                                           "Environment= or EnvironmentFile= in the unit)",
                                           *email.password_env));
        return value;
    }
    return {};
}

} // namespace

std::filesystem::path status_json_path(const config::Config& config) {
    return resolve_state_dir(std::nullopt, config.state_dir) / "status.json";
}

std::vector<monitor::SyncDescription> describe_syncs(const config::Config& config) {
    std::vector<monitor::SyncDescription> descriptions;
    for (const auto& sync : config.syncs) {
        monitor::SyncDescription description;
        description.name = sync.name;
        description.source = sync.source.string();
        if (!sync.remote) // a remote target's disk is not ours to probe
            description.target_path = sync.target;
        description.excludes = sync.excludes;
        descriptions.push_back(std::move(description));
    }
    return descriptions;
}

monitor::HealthThresholds health_thresholds(const config::Config& config) {
    monitor::HealthThresholds thresholds;
    const auto& m = config.monitor;
    thresholds.backlog = m.backlog_threshold;
    thresholds.backlog_age = duration_cast<seconds>(duration<double>(m.backlog_max_age_seconds));
    thresholds.disk_warning_percent = m.disk_usage_percent;
    thresholds.disk_critical_percent = m.disk_critical_percent;
    thresholds.inode_warning_percent = m.inode_usage_percent;
    thresholds.watches_warning_percent = m.inotify_watch_percent;
    thresholds.recovery_point = duration_cast<seconds>(duration<double>(m.recovery_point_seconds));
    // Three missed rewrites, plus slack for a busy machine.
    thresholds.stale_after =
        duration_cast<seconds>(duration<double>(3 * config.status_interval_seconds + 10));
    return thresholds;
}

monitor::MonitorOptions monitor_options(const config::Config& config) {
    monitor::MonitorOptions options;
    options.syncs = describe_syncs(config);
    options.status_file = config.status_file;
    options.status_json = status_json_path(config);
    options.status_interval = to_ms(config.status_interval_seconds);
    options.check_interval = to_ms(config.monitor.interval_seconds);
    options.thresholds = health_thresholds(config);
    for (const auto& path : config.monitor.mountpoints)
        options.mountpoints.push_back(path.string());
    options.rate_limit_window =
        duration_cast<seconds>(duration<double>(config.alerts.rate_limit_window_seconds));
    options.metrics_textfile = config.metrics.textfile;
    if (config.metrics.listen) {
        options.metrics_listen = monitor::parse_listen_address(*config.metrics.listen);
        if (!options.metrics_listen)
            throw StartupError(fmt::format("metrics.listen must be PORT, HOST:PORT or "
                                           "[IPV6]:PORT, got '{}'",
                                           *config.metrics.listen));
    }
    if (config.source_file)
        options.config_file = config.source_file->string();
    return options;
}

std::string read_password_file(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw StartupError(fmt::format("cannot read the password file {}: {}", path.string(),
                                       std::strerror(errno)));
    if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0)
        throw StartupError(fmt::format("the password file {} can be read by every user (mode "
                                       "{:04o}): run `chmod o-rwx {}` (or `chmod 600`)",
                                       path.string(), st.st_mode & 07777, path.string()));
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line))
        throw StartupError(fmt::format("cannot read a password from {}", path.string()));
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    return line;
}

std::vector<std::unique_ptr<monitor::AlertChannel>>
make_alert_channels(const config::Config& config) {
    std::vector<std::unique_ptr<monitor::AlertChannel>> channels;
    const std::string hostname = monitor::host_name();
    if (const auto& email = config.alerts.email) {
        monitor::MailEnvelope envelope{email->from.empty() ? "fsmirror@" + hostname : email->from,
                                       email->to};
        if (email->smtp_url) {
            monitor::SmtpOptions smtp;
            smtp.url = *email->smtp_url;
            smtp.envelope = envelope;
            smtp.username = email->username;
            if (email->username)
                smtp.password = resolve_password(*email);
            smtp.require_starttls = email->starttls;
            if (email->ca_file)
                smtp.ca_file = email->ca_file->string();
            smtp.hostname = hostname;
            channels.push_back(std::make_unique<monitor::SmtpChannel>(std::move(smtp)));
        } else {
            channels.push_back(std::make_unique<monitor::SendmailChannel>(
                monitor::SendmailOptions{email->sendmail_command, envelope, hostname}));
        }
    }
    if (!config.alerts.exec_command.empty())
        channels.push_back(std::make_unique<monitor::ExecChannel>(config.alerts.exec_command));
    return channels;
}

std::unique_ptr<monitor::MonitorService> make_monitor(const config::Config& config,
                                                      monitor::StatusBoard& board,
                                                      monitor::SystemdNotifier& systemd,
                                                      base::Logger& logger) {
    monitor::NotifierOptions notifier_options;
    notifier_options.first_retry = to_ms(config.alerts.retry_seconds);
    auto notifier =
        std::make_unique<monitor::Notifier>(make_alert_channels(config), notifier_options, logger);
    return std::make_unique<monitor::MonitorService>(
        monitor_options(config), board, std::move(notifier), systemd,
        [&logger](std::size_t count) { return logger.recent_lines(count); }, logger);
}

} // namespace fsmirror::app
