// fsmirror as a drop-in for lsyncd: lsyncd's command line, config files, log shapes, daemon
// mode, pidfile and exit codes (128+signal after a signal, 255 on errors, 0 after -version and
// -onepass).

#include "app/commands.hpp"
#include "app/control_files.hpp"
#include "app/daemon.hpp"
#include "app/detach.hpp"
#include "app/lsyncd_command_line.hpp"
#include "app/pid_file.hpp"
#include "config/lua_loader.hpp"
#include "config/yaml_loader.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include <sys/stat.h>
#include <syslog.h>

#ifndef FSMIRROR_VERSION
#define FSMIRROR_VERSION "0.0.0"
#endif

namespace fsmirror::app {

namespace {

// lsyncd's status for errors: os.exit(-1), seen as 255.
constexpr int k_exit_lsyncd_error = 255;

int facility_value(std::string_view name) {
    struct Facility {
        std::string_view name;
        int value;
    };
    static constexpr Facility k_facilities[] = {
        {"auth", LOG_AUTH},     {"authpriv", LOG_AUTHPRIV}, {"cron", LOG_CRON},
        {"daemon", LOG_DAEMON}, {"ftp", LOG_FTP},           {"kern", LOG_KERN},
        {"lpr", LOG_LPR},       {"mail", LOG_MAIL},         {"news", LOG_NEWS},
        {"syslog", LOG_SYSLOG}, {"user", LOG_USER},         {"uucp", LOG_UUCP},
        {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},     {"local2", LOG_LOCAL2},
        {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},     {"local5", LOG_LOCAL5},
        {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
    };
    for (const auto& facility : k_facilities)
        if (facility.name == name)
            return facility.value;
    return LOG_USER;
}

// lsyncd's messages before its logging is configured: "Error: <message>" on stderr.
int fail(const std::string& message) {
    std::fprintf(stderr, "Error: %s\n", message.c_str());
    return k_exit_lsyncd_error;
}

config::LsyncdLoad load(const LsyncdCommandLine& command_line,
                        const std::filesystem::path& working_directory) {
    if (command_line.config_file)
        return config::load_lsyncd_config_file(*command_line.config_file, command_line.settings,
                                               working_directory);
    return config::load_lsyncd_command_line(command_line.settings, working_directory);
}

// The checks lsyncd makes before it detaches, so their errors reach the terminal. Returns the
// error message, or an empty string when every sync can start.
std::string check_before_start(const config::Config& config) {
    for (const auto& sync : config.syncs) {
        struct stat st {};
        if (::stat(sync.source.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return "Cannot access source directory: " + sync.source.string();
    }
    return {};
}

void log_notes(const config::LsyncdLoad& loaded, base::Logger& logger) {
    for (const std::string& line : loaded.script_log)
        logger.info("{}", line);
    for (const auto& note : loaded.notes) {
        if (note.level == config::LsyncdNote::Level::warning)
            logger.warning("{}: {}", note.where, note.message);
        else
            logger.debug("{}: {}", note.where, note.message);
    }
}

// Waits up to `seconds` for SIGTERM, SIGINT or SIGHUP (blocked by the daemon). Returns the
// signal, or 0 when the time passed.
int wait_for_signal(double seconds) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    timespec timeout{static_cast<std::time_t>(seconds),
                     static_cast<long>(
                         (seconds - static_cast<double>(static_cast<std::time_t>(seconds))) * 1e9)};
    for (;;) {
        const int signal = sigtimedwait(&set, nullptr, &timeout);
        if (signal > 0)
            return signal;
        if (errno == EAGAIN)
            return 0;
    }
}

// lsyncd-mode runs go through the same pre-flight checks and mass-delete guard as `fsmirror
// run`/`sync`, with two differences: lsyncd has no marker file, so a non-empty target is
// allowed (lsyncd always mirrors into existing directories), and there are no --dry-run,
// --skip-safety or --allow-mass-delete flags (deletions the guard holds are released with
// `fsmirror resume`, or by running `fsmirror run --allow-mass-delete` once).
RunOptions lsyncd_run_options(const config::Config& config) {
    RunOptions options;
    options.non_empty = safety::NonEmptyTarget::allow;
    options.state_dir = resolve_state_dir(std::nullopt, config.state_dir);
    options.wording = DaemonWording::lsyncd;
    return options;
}

// Runs the syncs until a signal; with insist, a sync that cannot start is retried every delay
// instead of ending the process. Returns the exit status.
int run_until_signal(const config::Config& config, const RunOptions& options,
                     base::Logger& logger) {
    const bool insist = config.lsyncd && config.lsyncd->insist;
    double retry = 1;
    for (const auto& sync : config.syncs)
        retry = std::max(retry, sync.delay_seconds);
    for (;;) {
        const DaemonOutcome outcome = run_syncs_until_signal(config, options, logger);
        if (outcome.ending == DaemonOutcome::Ending::signal)
            return 128 + outcome.signal;
        if (!insist) {
            logger.error("Temporary or permanent failure on startup ({}). Terminating since "
                         "\"insist\" is not set.",
                         outcome.failure);
            return k_exit_lsyncd_error;
        }
        logger.warning("Retrying startup in {} s since \"insist\" is set: {}", retry,
                       outcome.failure);
        const int signal = wait_for_signal(retry);
        if (signal == SIGTERM || signal == SIGINT) {
            logger.info("--- {} signal, fading ---", signal == SIGTERM ? "TERM" : "INT");
            return 128 + signal;
        }
    }
}

} // namespace

int command_lsyncd(const CommandContext& context) {
    LsyncdCommandLine command_line;
    try {
        command_line = parse_lsyncd_command_line(context.args);
    } catch (const LsyncdUsageError& error) {
        return fail(error.what());
    }
    if (command_line.version) {
        std::fputs(lsyncd_version_line(FSMIRROR_VERSION).c_str(), stdout);
        return k_exit_ok;
    }
    if (command_line.list_monitors) {
        std::fputs("This fsmirror supports these monitors:\n   inotify\n\n", stdout);
        return k_exit_lsyncd_error;
    }
    if (command_line.help) {
        std::fputs(lsyncd_help_text().c_str(), stdout);
        return k_exit_lsyncd_error; // lsyncd's -help ends with os.exit(-1)
    }

    config::LsyncdLoad loaded;
    try {
        loaded = load(command_line, context.working_directory);
    } catch (const config::ConfigError& error) {
        return fail(error.what());
    }
    const config::Config& config = loaded.config;
    const config::LsyncdSettings& settings = *config.lsyncd;

    base::Logger logger(config.log.level);
    logger.set_style(base::LogStyle::lsyncd);
    if (config.log.file) {
        std::string error;
        if (!logger.set_file(*config.log.file, &error))
            return fail(error);
    }
    log_notes(loaded, logger);
    if (const std::string problem = check_before_start(config); !problem.empty()) {
        logger.error("{}", problem);
        return k_exit_lsyncd_error;
    }

    if (settings.onepass) {
        logger.info("--- Startup (one pass) ---");
        return run_once(config, lsyncd_run_options(config), logger) == 0 ? k_exit_ok
                                                                         : k_exit_lsyncd_error;
    }

    std::unique_ptr<PidFile> pid_file;
    if (settings.pid_file) {
        try {
            pid_file = PidFile::acquire(*settings.pid_file);
        } catch (const std::exception& error) {
            logger.error("{}", error.what());
            return k_exit_lsyncd_error;
        }
    }
    if (!settings.nodaemon) {
        logger.info("--- Startup, daemonizing ---");
        try {
            DetachedDaemon daemon = DetachedDaemon::detach();
            logger.set_console(base::Console::off);
            if (!config.log.file)
                logger.set_syslog(settings.log_ident, facility_value(settings.log_facility));
            if (pid_file)
                pid_file->write_pid();
            daemon.ready();
        } catch (const std::exception& error) {
            logger.error("cannot daemonize: {}", error.what());
            return k_exit_lsyncd_error;
        }
    } else if (pid_file) {
        try {
            pid_file->write_pid();
        } catch (const std::exception& error) {
            logger.error("{}", error.what());
            return k_exit_lsyncd_error;
        }
    }

    // SIGHUP re-reads the same files with the same command line, relative paths still
    // resolved against the directory fsmirror was started in.
    const ConfigReloader reload = [command_line, cwd = context.working_directory, &logger] {
        config::LsyncdLoad fresh = load(command_line, cwd);
        log_notes(fresh, logger);
        if (const std::string problem = check_before_start(fresh.config); !problem.empty())
            throw config::ConfigError(problem);
        return fresh.config;
    };
    RunOptions options = lsyncd_run_options(config);
    options.reload = reload;
    return run_until_signal(config, options, logger);
}

} // namespace fsmirror::app
