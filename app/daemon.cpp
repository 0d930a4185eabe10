#include "app/daemon.hpp"

#include "app/control_files.hpp"
#include "app/monitor_setup.hpp"
#include "app/preflight.hpp"
#include "app/session_factory.hpp"
#include "monitor/status_board.hpp"
#include "monitor/systemd_notify.hpp"

#include <csignal>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fsmirror::app {

namespace {

struct RunningSync {
    std::unique_ptr<engine::SyncSession> session;
    std::jthread thread;
};

// What the initial sync of one sync says around itself, in lsyncd's words when asked for.
struct StartupLines {
    bool initial_sync = true;
    std::string before; // empty: nothing
    std::string after;
};

StartupLines startup_lines(const config::SyncConfig& sync, DaemonWording wording) {
    StartupLines lines;
    lines.initial_sync = sync.initial_sync;
    if (wording == DaemonWording::lsyncd) {
        // lsyncd's source and target carry a trailing slash.
        const std::string source = sync.source.string() + "/";
        const std::string target = sync.target.ends_with('/') ? sync.target : sync.target + "/";
        lines.before = "recursive startup rsync: " + source + " -> " + target;
        lines.after = "Startup of " + source + " -> " + target + " finished.";
    }
    return lines;
}

// Keeps <state_dir>/<sync>/paused in step with each session's guard, for `fsmirror resume`,
// operators and monitors.
class PausedFileWriter final : public engine::SessionObserver {
public:
    PausedFileWriter(ControlFiles& files, base::Logger& logger)
        : m_files(files), m_logger(logger) {}

    void on_status(const std::string& sync_name, const engine::SessionStatus& status) override {
        std::lock_guard lock(m_mutex);
        if (status.state == engine::SessionState::deletions_paused) {
            if (auto written = m_files.write_paused(sync_name, status); !written)
                m_logger.error("{}: {}; `fsmirror resume` cannot reach this daemon, so restart "
                               "it with --allow-mass-delete to release the held deletions",
                               sync_name, written.error().message);
        } else if (status.held_deletions == 0) {
            m_files.clear_paused(sync_name);
        }
    }

private:
    std::mutex m_mutex;
    ControlFiles& m_files;
    base::Logger& m_logger;
};

// The syncs and the monitor watching them. The board they share lives in
// run_syncs_until_signal, so it outlives both.
struct Running {
    std::vector<RunningSync> syncs;
    std::unique_ptr<monitor::MonitorService> monitor;
};

// What start_all needs besides the configuration; it all outlives the running syncs.
struct DaemonContext {
    const RunOptions& options;
    ControlFiles& files;
    engine::SessionObserver* observer;
    monitor::StatusBoard& board;
    monitor::SystemdNotifier& systemd;
    base::Logger& logger;
};

// Runs the pre-flight checks, then starts every sync (watches first) and the monitor, and
// gives each sync its own thread for the initial sync and the event loop. Throws StartupError
// when a check fails or a sync or the monitor cannot start.
Running start_all(const config::Config& config, const DaemonContext& daemon) {
    const RunOptions& options = daemon.options;
    base::Logger& logger = daemon.logger;
    const auto preflight = run_preflight(config, safety::WatchCheck::yes, options.non_empty);
    if (!log_preflight(preflight, logger))
        throw StartupError("pre-flight checks failed (see above); nothing was written");
    SessionSettings settings;
    settings.watching = Watching::yes;
    settings.dry_run = options.dry_run;
    settings.startup_deletions = options.startup_deletions;
    settings.non_empty = options.non_empty;
    settings.observer = daemon.observer;
    settings.reporter = &daemon.board;
    daemon.board.clear();
    std::vector<std::unique_ptr<engine::SyncSession>> sessions;
    for (const auto& sync : config.syncs) {
        if (options.dry_run == DryRun::no)
            daemon.files.clear_stale(sync.name);
        // One walk of the source before mirroring: the census's count also chooses the
        // event source.
        SessionSettings per_sync = settings;
        for (const auto& checked : preflight)
            if (checked.sync_name == sync.name)
                per_sync.source_directories = checked.report.directories_counted;
        auto session = make_session(sync, per_sync, logger);
        if (auto started = session->start(); !started)
            throw StartupError(sync.name + ": " + started.error().message);
        sessions.push_back(std::move(session));
    }
    Running running;
    // A dry run is an operator at a terminal: no status files, metrics or alert mails.
    if (options.dry_run == DryRun::no) {
        running.monitor = make_monitor(config, daemon.board, daemon.systemd, logger);
        if (auto started = running.monitor->start(); !started)
            throw StartupError(started.error().message);
    }
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        auto* raw = sessions[i].get();
        running.syncs.push_back(RunningSync{
            std::move(sessions[i]),
            std::jthread([raw, &logger, lines = startup_lines(config.syncs[i], options.wording)](
                             std::stop_token stop) {
                if (lines.initial_sync) {
                    if (!lines.before.empty())
                        logger.info("{}", lines.before);
                    raw->initial_sync(stop);
                    if (!lines.after.empty())
                        logger.info("{}", lines.after);
                }
                raw->run(stop);
            })});
    }
    return running;
}

void stop_all(Running& running) {
    for (auto& sync : running.syncs)
        sync.thread.request_stop();
    for (auto& sync : running.syncs)
        if (sync.thread.joinable())
            sync.thread.join();
    // After the syncs, so the last status shows how they ended.
    if (running.monitor)
        running.monitor->stop();
    running.monitor.reset();
    running.syncs.clear();
}

// Passes `fsmirror resume` requests on to their sessions.
void poll_resume_requests(std::vector<RunningSync>& running, ControlFiles& files,
                          base::Logger& logger) {
    for (auto& sync : running) {
        const std::string& name = sync.session->name();
        if (files.take_resume_request(name)) {
            logger.info("{}: `fsmirror resume` asked to release the held deletions", name);
            sync.session->resume_deletions();
        }
    }
}

sigset_t handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

} // namespace

int run_daemon(const config::Config& config, const RunOptions& options, base::Logger& logger) {
    const DaemonOutcome outcome = run_syncs_until_signal(config, options, logger);
    return outcome.ending == DaemonOutcome::Ending::signal ? 0 : 1;
}

DaemonOutcome run_syncs_until_signal(const config::Config& config, const RunOptions& options,
                                     base::Logger& logger) {
    // Blocked before any thread starts, so every thread inherits the mask and the main thread
    // alone takes them with sigtimedwait.
    sigset_t signals = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const bool lsyncd = options.wording == DaemonWording::lsyncd;
    // A mail or exec command that exits early must not kill the daemon with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);

    ControlFiles files(options.state_dir);
    PausedFileWriter paused_writer(files, logger);
    engine::SessionObserver* observer = options.dry_run == DryRun::yes ? nullptr : &paused_writer;
    monitor::StatusBoard board;
    monitor::SystemdNotifier systemd;
    const DaemonContext daemon{options, files, observer, board, systemd, logger};
    Running running;
    try {
        logger.info("--- Startup --- fsmirror with {} sync(s){}", config.syncs.size(),
                    options.dry_run == DryRun::yes ? " (dry run: nothing is written)" : "");
        running = start_all(config, daemon);
    } catch (const StartupError& error) {
        logger.error("{}", error.what());
        stop_all(running);
        return DaemonOutcome{DaemonOutcome::Ending::startup_failed, 0, error.what()};
    }

    for (;;) {
        timespec timeout{1, 0};
        int signal = sigtimedwait(&signals, nullptr, &timeout);
        if (options.dry_run == DryRun::no)
            poll_resume_requests(running.syncs, files, logger);
        if (signal < 0)
            continue;
        if (signal == SIGHUP) {
            if (!options.reload) {
                logger.warning("SIGHUP: no config file to re-read (started from flags)");
                continue;
            }
            config::Config fresh;
            try {
                fresh = options.reload();
            } catch (const std::exception& error) {
                logger.error("SIGHUP: keeping the running configuration: {}", error.what());
                continue;
            }
            if (lsyncd)
                logger.info("--- HUP signal, resetting ---");
            else
                logger.info("--- HUP signal, reloading the configuration ---");
            systemd.reloading();
            stop_all(running);
            try {
                running = start_all(fresh, daemon);
            } catch (const StartupError& error) {
                logger.error("SIGHUP: the new configuration cannot start ({}); restarting the "
                             "previous one",
                             error.what());
                stop_all(running);
                try {
                    running = start_all(config, daemon);
                } catch (const StartupError& again) {
                    logger.error("{}", again.what());
                    return DaemonOutcome{DaemonOutcome::Ending::startup_failed, 0, again.what()};
                }
            }
            continue;
        }
        const char* name = signal == SIGTERM ? "TERM" : "INT";
        if (lsyncd)
            logger.info("--- {} signal, fading ---", name);
        else
            logger.info("--- {} signal, finishing transfers in flight ---", name);
        systemd.stopping();
        stop_all(running);
        logger.info("exiting");
        return DaemonOutcome{DaemonOutcome::Ending::signal, signal, {}};
    }
}

int run_once(const config::Config& config, const RunOptions& options, base::Logger& logger) {
    if (!log_preflight(run_preflight(config, safety::WatchCheck::no, options.non_empty), logger)) {
        logger.error("pre-flight checks failed (see above); nothing was written");
        return 1;
    }
    SessionSettings settings;
    settings.watching = Watching::no;
    settings.dry_run = options.dry_run;
    settings.startup_deletions = options.startup_deletions;
    settings.non_empty = options.non_empty;
    std::size_t failures = 0;
    for (const auto& sync : config.syncs) {
        try {
            auto session = make_session(sync, settings, logger);
            if (auto started = session->start(); !started)
                throw StartupError(sync.name + ": " + started.error().message);
            failures += session->initial_sync();
            if (auto status = session->status(); status.held_deletions > 0) {
                logger.error("{}: the mass-delete guard held {} deletions ({}); nothing was "
                             "deleted. Check the source, then run again with "
                             "--allow-mass-delete to let them through",
                             sync.name, status.held_deletions, status.reason);
                ++failures;
            }
        } catch (const StartupError& error) {
            logger.error("{}", error.what());
            ++failures;
        }
    }
    return failures == 0 ? 0 : 1;
}

} // namespace fsmirror::app
