#include "app/daemon.hpp"

#include "app/control_files.hpp"
#include "app/preflight.hpp"
#include "app/session_factory.hpp"

#include <csignal>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace fsmirror::app {

namespace {

struct RunningSync {
    std::unique_ptr<engine::SyncSession> session;
    std::jthread thread;
};

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

// Runs the pre-flight checks, then starts every sync (watches first) and gives each its own
// thread for the initial sync and the event loop. Throws StartupError when a check fails or a
// sync cannot start.
std::vector<RunningSync> start_all(const config::Config& config, const RunOptions& options,
                                   ControlFiles& files, engine::SessionObserver* observer,
                                   base::Logger& logger) {
    if (!log_preflight(run_preflight(config, safety::WatchCheck::yes, options.non_empty), logger))
        throw StartupError("pre-flight checks failed (see above); nothing was written");
    SessionSettings settings;
    settings.watching = Watching::yes;
    settings.dry_run = options.dry_run;
    settings.startup_deletions = options.startup_deletions;
    settings.observer = observer;
    std::vector<std::unique_ptr<engine::SyncSession>> sessions;
    for (const auto& sync : config.syncs) {
        if (options.dry_run == DryRun::no)
            files.clear_stale(sync.name);
        auto session = make_session(sync, settings, logger);
        if (auto started = session->start(); !started)
            throw StartupError(sync.name + ": " + started.error().message);
        sessions.push_back(std::move(session));
    }
    std::vector<RunningSync> running;
    for (auto& session : sessions) {
        auto* raw = session.get();
        running.push_back(RunningSync{std::move(session), std::jthread([raw](std::stop_token stop) {
                                          raw->initial_sync();
                                          raw->run(stop);
                                      })});
    }
    return running;
}

void stop_all(std::vector<RunningSync>& running) {
    for (auto& sync : running)
        sync.thread.request_stop();
    for (auto& sync : running)
        if (sync.thread.joinable())
            sync.thread.join();
    running.clear();
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
    // Blocked before any thread starts, so every thread inherits the mask and the main thread
    // alone takes them with sigtimedwait.
    sigset_t signals = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    ControlFiles files(options.state_dir);
    PausedFileWriter paused_writer(files, logger);
    engine::SessionObserver* observer = options.dry_run == DryRun::yes ? nullptr : &paused_writer;
    std::vector<RunningSync> running;
    try {
        logger.info("--- Startup --- fsmirror with {} sync(s){}", config.syncs.size(),
                    options.dry_run == DryRun::yes ? " (dry run: nothing is written)" : "");
        running = start_all(config, options, files, observer, logger);
    } catch (const StartupError& error) {
        logger.error("{}", error.what());
        stop_all(running);
        return 1;
    }

    for (;;) {
        timespec timeout{1, 0};
        int signal = sigtimedwait(&signals, nullptr, &timeout);
        if (options.dry_run == DryRun::no)
            poll_resume_requests(running, files, logger);
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
            logger.info("--- HUP signal, reloading the configuration ---");
            stop_all(running);
            try {
                running = start_all(fresh, options, files, observer, logger);
            } catch (const StartupError& error) {
                logger.error("SIGHUP: the new configuration cannot start ({}); restarting the "
                             "previous one",
                             error.what());
                try {
                    running = start_all(config, options, files, observer, logger);
                } catch (const StartupError& again) {
                    logger.error("{}", again.what());
                    return 1;
                }
            }
            continue;
        }
        logger.info("--- {} signal, finishing transfers in flight ---",
                    signal == SIGTERM ? "TERM" : "INT");
        stop_all(running);
        logger.info("exiting");
        return 0;
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
