// `fsmirror alert`: sends one notification through the alert channels of a configuration, at
// once and in the foreground. systemd's OnFailure= unit calls it when a fsmirror unit fails, so
// a daemon that cannot run at all is still reported through the channel operators set up.

#include "app/commands.hpp"
#include "app/control_files.hpp"
#include "app/monitor_setup.hpp"
#include "app/sync_options.hpp"
#include "config/yaml_loader.hpp"
#include "monitor/alert_message.hpp"
#include "monitor/subprocess.hpp"
#include "monitor/system_probe.hpp"

#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include <fmt/format.h>

namespace fsmirror::app {

namespace {

constexpr const char* k_alert_help = R"(NAME
    fsmirror alert - send one alert through the configured alert channels

SYNOPSIS
    fsmirror alert --config FILE [--unit UNIT] [--subject TEXT] [--message TEXT]
                   [--state-dir DIR]

DESCRIPTION
    Sends one notification through every channel of the configuration's alerts: section
    (mail over SMTP or sendmail, exec commands), in the foreground, and reports each
    delivery. systemd's fsmirror-failure@.service runs it when a fsmirror unit fails, so an
    operator hears of a daemon that cannot even start.
    With --unit, the body holds the unit's `systemctl status` and its last journal lines,
    and notifications for the same unit are rate-limited: within alerts.rate_limit_window
    of the last one sent (kept in DIR/alerts/) nothing is sent, so a unit that fails and
    restarts every few seconds sends one mail, not hundreds.
    A configuration that does not load (the likely reason a unit failed for good) is still
    used for its alerts: and state_dir keys alone, and the body says what is wrong with it.

OPTIONS
    -c, --config FILE
        The configuration whose alert channels to use (required).
    --unit UNIT
        The systemd unit the alert is about, e.g. fsmirror.service.
    --subject TEXT
        The subject. Default: "[ALERT] fsmirror on HOST" (with --unit: "[FAILED] UNIT on
        HOST").
    --message TEXT
        Text for the body, before the unit's status and journal.
    --state-dir DIR
        Where the per-unit rate limit is kept (default: state_dir of --config, else
        $STATE_DIRECTORY, else /var/lib/fsmirror).
    -h, --help
        This text.

EXIT STATUS
    0   every channel took the notification, or the rate limit held it back
    1   a channel failed, or the configuration has no alert channel
    2   bad flags, or a configuration whose alerts: section cannot be read
)";

struct AlertRequest {
    std::optional<std::filesystem::path> config_file;
    std::optional<std::filesystem::path> state_dir;
    std::optional<std::string> unit;
    std::optional<std::string> subject;
    std::string message;
};

AlertRequest parse_alert_request(const std::vector<std::string>& args,
                                 const std::filesystem::path& working_directory, bool& help) {
    AlertRequest request;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (flag == "-h" || flag == "--help") {
            help = true;
            return request;
        }
        const auto value = [&]() -> std::string {
            if (i + 1 >= args.size())
                throw UsageError(flag + " needs a value");
            return args[++i];
        };
        if (flag == "-c" || flag == "--config")
            request.config_file = working_directory / value();
        else if (flag == "--state-dir")
            request.state_dir = working_directory / value();
        else if (flag == "--unit")
            request.unit = value();
        else if (flag == "--subject")
            request.subject = value();
        else if (flag == "--message")
            request.message = value();
        else
            throw UsageError(fmt::format("unknown option '{}' for `fsmirror alert` (see "
                                         "`fsmirror alert --help`)",
                                         flag));
    }
    if (!request.config_file)
        throw UsageError("`fsmirror alert` needs --config FILE: the alert channels are in its "
                         "alerts: section");
    return request;
}

// Returns the output of a diagnostic command, or why it could not be run; never fails.
std::string diagnostic(const std::vector<std::string>& argv) {
    auto result = monitor::run_command(argv, "", std::chrono::seconds(10));
    if (!result)
        return fmt::format("({}: {})\n", argv.front(), result.error().message);
    return result->output;
}

// A unit name becomes a file name: only characters systemd allows in unit names are kept.
std::string rate_file_name(const std::string& unit) {
    std::string name;
    for (char c : unit)
        name += (std::isalnum(static_cast<unsigned char>(c)) || c == '@' || c == '.' || c == '-' ||
                 c == '_')
                    ? c
                    : '_';
    return name + ".sent";
}

// True when an alert for the same unit went out within `window`.
bool recently_sent(const std::filesystem::path& marker, std::chrono::seconds window) {
    std::error_code error;
    const auto written = std::filesystem::last_write_time(marker, error);
    if (error)
        return false;
    return std::filesystem::file_time_type::clock::now() - written < window;
}

} // namespace

int command_alert(const CommandContext& context) {
    AlertRequest request;
    config::Config config;
    std::string config_error;
    try {
        bool help = false;
        request = parse_alert_request(context.args, context.working_directory, help);
        if (help) {
            std::fputs(k_alert_help, stdout);
            return k_exit_ok;
        }
        try {
            config = config::load_yaml_config_file(*request.config_file);
        } catch (const config::ConfigError& error) {
            // The unit may have failed because of this very mistake (a config error fails it
            // for good): report it through the alert settings, which are likely intact.
            config = config::load_yaml_alert_settings_file(*request.config_file);
            config_error = error.what();
            std::fprintf(stderr, "fsmirror alert: %s (using its alerts: section only)\n",
                         config_error.c_str());
        }
    } catch (const std::exception& error) {
        std::fprintf(stderr, "fsmirror alert: %s\n", error.what());
        return k_exit_usage;
    }

    // A mail or exec command that exits without reading its input must not kill us.
    std::signal(SIGPIPE, SIG_IGN);
    std::vector<std::unique_ptr<monitor::AlertChannel>> channels;
    try {
        channels = make_alert_channels(config);
    } catch (const std::exception& error) {
        std::fprintf(stderr, "fsmirror alert: %s\n", error.what());
        return k_exit_failure;
    }
    if (channels.empty()) {
        std::fprintf(stderr,
                     "fsmirror alert: %s has no alert channel (alerts.email or alerts.exec); "
                     "nothing was sent\n",
                     request.config_file->c_str());
        return k_exit_failure;
    }

    const auto state_dir = resolve_state_dir(request.state_dir, config.state_dir);
    std::optional<std::filesystem::path> marker;
    if (request.unit) {
        marker = state_dir / "alerts" / rate_file_name(*request.unit);
        const auto window = std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::duration<double>(config.alerts.rate_limit_window_seconds));
        if (recently_sent(*marker, window)) {
            std::printf("fsmirror alert: an alert for %s was sent less than %lld s ago "
                        "(alerts.rate_limit_window); not sending another\n",
                        request.unit->c_str(), static_cast<long long>(window.count()));
            return k_exit_ok;
        }
    }

    const std::string host = monitor::host_name();
    monitor::Notification notification;
    notification.subject = request.subject.value_or(
        request.unit ? fmt::format("[FAILED] {} on {}", *request.unit, host)
                     : fmt::format("[ALERT] fsmirror on {}", host));
    std::string body = request.message.empty() ? "" : request.message + "\n\n";
    if (!config_error.empty())
        body += fmt::format("The configuration does not load: {}\n\n", config_error);
    if (request.unit) {
        body += fmt::format("systemd unit {} on {} failed.\n\n", *request.unit, host);
        body += diagnostic({"systemctl", "status", "--no-pager", "--lines=0", *request.unit});
        body += "\nLast journal lines:\n";
        body += diagnostic({"journalctl", "--no-pager", "--lines=40", "--unit", *request.unit});
    }
    body += fmt::format("\nConfiguration: {}\n", request.config_file->string());
    notification.body = body;
    notification.json = nlohmann::json{
        {"type", "alert"},
        {"host", host},
        {"unit", request.unit.value_or("")},
        {"subject", notification.subject},
        {"body",
         notification.body}}.dump();

    std::size_t failed = 0;
    for (const auto& channel : channels) {
        if (auto sent = channel->send(notification); !sent) {
            ++failed;
            std::fprintf(stderr, "fsmirror alert: %s: %s\n", channel->describe().c_str(),
                         sent.error().message.c_str());
        } else {
            std::printf("fsmirror alert: sent \"%s\" via %s\n", notification.subject.c_str(),
                        channel->describe().c_str());
        }
    }
    if (marker && failed < channels.size()) {
        std::error_code error;
        std::filesystem::create_directories(marker->parent_path(), error);
        std::ofstream(*marker) << host << '\n';
    }
    return failed == 0 ? k_exit_ok : k_exit_failure;
}

} // namespace fsmirror::app
