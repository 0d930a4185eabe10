#pragma once
// Runs the configured syncs: one thread per sync, signals handled on the main thread.

#include "base/logger.hpp"
#include "config/config.hpp"

#include <functional>

namespace fsmirror::app {

// Re-reads the configuration for SIGHUP; throws on an invalid file.
using ConfigReloader = std::function<config::Config()>;

// Which words the daemon's own lines use.
enum class DaemonWording {
    native,
    // lsyncd's, for scripts that grep its log: "--- TERM signal, fading ---",
    // "--- HUP signal, resetting ---", "recursive startup rsync: SRC/ -> TGT/" and
    // "Startup of SRC/ -> TGT/ finished." around each initial sync.
    lsyncd,
};

struct DaemonOptions {
    DaemonWording wording = DaemonWording::native;
};

// How run_syncs_until_signal() ended.
struct DaemonOutcome {
    enum class Ending { signal, startup_failed };
    Ending ending = Ending::signal;
    int signal = 0;      // for Ending::signal: SIGTERM or SIGINT
    std::string failure; // for Ending::startup_failed: what could not start, and why
};

// Starts every sync (initial sync, then mirroring) and runs until SIGTERM or SIGINT; SIGHUP
// re-reads the configuration through `reload`. The handled signals stay blocked in the calling
// thread afterwards, so a caller may wait for them with sigtimedwait().
DaemonOutcome run_syncs_until_signal(const config::Config& config, const ConfigReloader& reload,
                                     base::Logger& logger, const DaemonOptions& options);

// `fsmirror run`: initial sync, then mirror until SIGTERM/SIGINT. Returns the exit status
// (0 after a signal-initiated shutdown, 1 when a sync could not start).
int run_daemon(const config::Config& config, const ConfigReloader& reload, base::Logger& logger);

// `fsmirror sync`: one pass over every sync. Returns 0 when everything was mirrored, else 1.
int run_once(const config::Config& config, base::Logger& logger);

} // namespace fsmirror::app
