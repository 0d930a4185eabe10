#include "app/daemon.hpp"

#include "app/session_factory.hpp"

#include <csignal>
#include <ctime>
#include <memory>
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

// Starts every sync (watches first), then gives each its own thread for the initial sync and
// the event loop. Throws StartupError when any sync cannot start.
std::vector<RunningSync> start_all(const config::Config& config, base::Logger& logger,
                                   DaemonWording wording) {
    std::vector<std::unique_ptr<engine::SyncSession>> sessions;
    for (const auto& sync : config.syncs) {
        auto session = make_session(sync, Watching::yes, logger);
        if (auto started = session->start(); !started)
            throw StartupError(sync.name + ": " + started.error().message);
        sessions.push_back(std::move(session));
    }
    std::vector<RunningSync> running;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        auto* raw = sessions[i].get();
        running.push_back(RunningSync{
            std::move(sessions[i]),
            std::jthread([raw, &logger,
                          lines = startup_lines(config.syncs[i], wording)](std::stop_token stop) {
                if (lines.initial_sync) {
                    if (!lines.before.empty())
                        logger.info("{}", lines.before);
                    raw->initial_sync();
                    if (!lines.after.empty())
                        logger.info("{}", lines.after);
                }
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

sigset_t handled_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

} // namespace

int run_daemon(const config::Config& config, const ConfigReloader& reload, base::Logger& logger) {
    const DaemonOutcome outcome = run_syncs_until_signal(config, reload, logger, DaemonOptions{});
    return outcome.ending == DaemonOutcome::Ending::signal ? 0 : 1;
}

DaemonOutcome run_syncs_until_signal(const config::Config& config, const ConfigReloader& reload,
                                     base::Logger& logger, const DaemonOptions& options) {
    // Blocked before any thread starts, so every thread inherits the mask and the main thread
    // alone takes them with sigtimedwait.
    sigset_t signals = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    const bool lsyncd = options.wording == DaemonWording::lsyncd;

    std::vector<RunningSync> running;
    try {
        logger.info("--- Startup --- fsmirror with {} sync(s)", config.syncs.size());
        running = start_all(config, logger, options.wording);
    } catch (const StartupError& error) {
        logger.error("{}", error.what());
        stop_all(running);
        return DaemonOutcome{DaemonOutcome::Ending::startup_failed, 0, error.what()};
    }

    for (;;) {
        timespec timeout{1, 0};
        int signal = sigtimedwait(&signals, nullptr, &timeout);
        if (signal < 0)
            continue;
        if (signal == SIGHUP) {
            if (!reload) {
                logger.warning("SIGHUP: no config file to re-read (started from flags)");
                continue;
            }
            config::Config fresh;
            try {
                fresh = reload();
            } catch (const std::exception& error) {
                logger.error("SIGHUP: keeping the running configuration: {}", error.what());
                continue;
            }
            if (lsyncd)
                logger.info("--- HUP signal, resetting ---");
            else
                logger.info("--- HUP signal, reloading the configuration ---");
            stop_all(running);
            try {
                running = start_all(fresh, logger, options.wording);
            } catch (const StartupError& error) {
                logger.error("SIGHUP: the new configuration cannot start ({}); restarting the "
                             "previous one",
                             error.what());
                try {
                    running = start_all(config, logger, options.wording);
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
        stop_all(running);
        logger.info("exiting");
        return DaemonOutcome{DaemonOutcome::Ending::signal, signal, {}};
    }
}

int run_once(const config::Config& config, base::Logger& logger) {
    std::size_t failures = 0;
    for (const auto& sync : config.syncs) {
        try {
            auto session = make_session(sync, Watching::no, logger);
            if (auto started = session->start(); !started)
                throw StartupError(sync.name + ": " + started.error().message);
            failures += session->initial_sync();
        } catch (const StartupError& error) {
            logger.error("{}", error.what());
            ++failures;
        }
    }
    return failures == 0 ? 0 : 1;
}

} // namespace fsmirror::app
