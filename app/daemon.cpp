#include "app/daemon.hpp"

#include "app/session_factory.hpp"

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

// Starts every sync (watches first), then gives each its own thread for the initial sync and
// the event loop. Throws StartupError when any sync cannot start.
std::vector<RunningSync> start_all(const config::Config& config, base::Logger& logger) {
    std::vector<std::unique_ptr<engine::SyncSession>> sessions;
    for (const auto& sync : config.syncs) {
        auto session = make_session(sync, Watching::yes, logger);
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

    std::vector<RunningSync> running;
    try {
        logger.info("--- Startup --- fsmirror with {} sync(s)", config.syncs.size());
        running = start_all(config, logger);
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
            stop_all(running);
            try {
                running = start_all(fresh, logger);
            } catch (const StartupError& error) {
                logger.error("SIGHUP: the new configuration cannot start ({}); restarting the "
                             "previous one",
                             error.what());
                try {
                    running = start_all(config, logger);
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
