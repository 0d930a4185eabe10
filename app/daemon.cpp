#include "app/daemon.hpp"

#include "app/monitor_setup.hpp"
#include "app/session_factory.hpp"
#include "monitor/status_board.hpp"
#include "monitor/systemd_notify.hpp"

#include <csignal>
#include <ctime>
#include <memory>
#include <thread>
#include <vector>

namespace fsmirror::app {

namespace {

struct RunningSync {
    std::unique_ptr<engine::SyncSession> session;
    std::jthread thread;
};

// The syncs and the monitor watching them. The board they share lives in run_daemon, so it
// outlives both.
struct Running {
    std::vector<RunningSync> syncs;
    std::unique_ptr<monitor::MonitorService> monitor;
};

// Starts every sync (watches first) and the monitor, then gives each sync its own thread for
// the initial sync and the event loop. Throws StartupError when any of them cannot start.
Running start_all(const config::Config& config, monitor::StatusBoard& board,
                  monitor::SystemdNotifier& systemd, base::Logger& logger) {
    board.clear();
    std::vector<std::unique_ptr<engine::SyncSession>> sessions;
    for (const auto& sync : config.syncs) {
        auto session = make_session(sync, Watching::yes, logger, &board);
        if (auto started = session->start(); !started)
            throw StartupError(sync.name + ": " + started.error().message);
        sessions.push_back(std::move(session));
    }
    Running running;
    running.monitor = make_monitor(config, board, systemd, logger);
    if (auto started = running.monitor->start(); !started)
        throw StartupError(started.error().message);
    for (auto& session : sessions) {
        auto* raw = session.get();
        running.syncs.push_back(
            RunningSync{std::move(session), std::jthread([raw](std::stop_token stop) {
                            raw->initial_sync();
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
    // Blocked before any thread starts, so every thread inherits the mask and the main thread
    // alone takes them with sigtimedwait.
    sigset_t signals = handled_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    // A mail or exec command that exits early must not kill the daemon with SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);

    monitor::StatusBoard board;
    monitor::SystemdNotifier systemd;
    Running running;
    try {
        logger.info("--- Startup --- fsmirror with {} sync(s)", config.syncs.size());
        running = start_all(config, board, systemd, logger);
    } catch (const StartupError& error) {
        logger.error("{}", error.what());
        stop_all(running);
        return 1;
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
            logger.info("--- HUP signal, reloading the configuration ---");
            systemd.reloading();
            stop_all(running);
            try {
                running = start_all(fresh, board, systemd, logger);
            } catch (const StartupError& error) {
                logger.error("SIGHUP: the new configuration cannot start ({}); restarting the "
                             "previous one",
                             error.what());
                stop_all(running);
                try {
                    running = start_all(config, board, systemd, logger);
                } catch (const StartupError& again) {
                    logger.error("{}", again.what());
                    return 1;
                }
            }
            continue;
        }
        logger.info("--- {} signal, finishing transfers in flight ---",
                    signal == SIGTERM ? "TERM" : "INT");
        systemd.stopping();
        stop_all(running);
        logger.info("exiting");
        return 0;
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
