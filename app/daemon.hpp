#pragma once
// Runs the configured syncs: one thread per sync, signals handled on the main thread.

#include "app/session_factory.hpp"
#include "base/logger.hpp"
#include "config/config.hpp"
#include "safety/target_ownership.hpp"

#include <filesystem>
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

// How run_syncs_until_signal() ended.
struct DaemonOutcome {
    enum class Ending { signal, startup_failed };
    Ending ending = Ending::signal;
    int signal = 0;      // for Ending::signal: SIGTERM or SIGINT
    std::string failure; // for Ending::startup_failed: what could not start, and why
};

// What the command line adds to the configuration for `run` and `sync`.
struct RunOptions {
    ConfigReloader reload; // `run` with --config; empty otherwise
    DryRun dry_run = DryRun::no;
    // --allow-mass-delete: the initial sync's deletions skip the guard.
    engine::StartupDeletions startup_deletions = engine::StartupDeletions::guarded;
    // --skip-safety: a non-empty target without a marker is allowed.
    safety::NonEmptyTarget non_empty = safety::NonEmptyTarget::refuse;
    std::filesystem::path state_dir = "/var/lib/fsmirror"; // control files (`run` only)
    DaemonWording wording = DaemonWording::native;
};

// Runs the pre-flight checks, starts every sync (initial sync, then mirroring) and runs until
// SIGTERM or SIGINT; SIGHUP re-reads the configuration through `options.reload`. The handled
// signals stay blocked in the calling thread afterwards, so a caller may wait for them with
// sigtimedwait().
DaemonOutcome run_syncs_until_signal(const config::Config& config, const RunOptions& options,
                                     base::Logger& logger);

// `fsmirror run`: pre-flight checks, initial sync, then mirror until SIGTERM/SIGINT. Returns
// the exit status (0 after a signal-initiated shutdown, 1 when a sync could not start or a
// check failed).
int run_daemon(const config::Config& config, const RunOptions& options, base::Logger& logger);

// `fsmirror sync`: pre-flight checks, then one pass over every sync. Returns 0 when
// everything was mirrored, else 1 (a failed check or entry, or deletions the guard held).
int run_once(const config::Config& config, const RunOptions& options, base::Logger& logger);

} // namespace fsmirror::app
