#pragma once
// Turns one validated SyncConfig into a ready-to-start SyncSession.

#include "base/logger.hpp"
#include "config/config.hpp"
#include "engine/sync_session.hpp"
#include "safety/target_ownership.hpp"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

namespace fsmirror::app {

// A sync that cannot start (missing source, overlapping paths, unreadable exclude file).
class StartupError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Watching { yes, no };

// --dry-run: the session plans against the real target and writes nothing (not even the
// target directory or its marker).
enum class DryRun { no, yes };

struct SessionSettings {
    Watching watching = Watching::yes;
    DryRun dry_run = DryRun::no;
    // Receives each planned action of a dry run, e.g. "copy /a.txt (12 bytes)" (called from
    // worker threads, one call at a time). Null prints "<sync>: dry-run: <action>" to stdout.
    std::function<void(const std::string&)> dry_run_report;
    engine::StartupDeletions startup_deletions = engine::StartupDeletions::guarded;
    engine::SessionObserver* observer = nullptr; // not owned
    monitor::SyncReporter* reporter = nullptr;   // not owned; outlives the session
    // A non-empty SSH target without a marker, or marked for another source (checked here,
    // over the session's connection, with the target's mount and free space checks).
    safety::NonEmptyTarget non_empty = safety::NonEmptyTarget::refuse;
    // The source's directories as the pre-flight census counted them (nullopt: not counted),
    // so that `--events auto` need not walk the tree again.
    std::optional<std::uint64_t> source_directories;
};

// Checks the paths, creates a missing target whose parent exists, marks it as fsmirror's
// (the `.fsmirror` marker naming the source), and builds the session. The pre-flight checks
// (app/preflight.hpp) are the caller's. Throws StartupError with a message naming the sync,
// the path and the fix.
std::unique_ptr<engine::SyncSession>
make_session(const config::SyncConfig& sync, const SessionSettings& settings, base::Logger& logger);

// Returns the exclude filter of `sync`. Throws StartupError for a bad pattern or file.
engine::ExcludeFilter make_excludes(const config::SyncConfig& sync);

// Returns the attributes `sync` carries over (owner: as configured, else when running as root).
transport::AttributePolicy attribute_policy(const config::SyncConfig& sync);

// Opens the SSH transport of a sync whose target is remote (`sync.remote`), connecting once.
// Throws StartupError when the host refuses us (an unreachable host is not an error here).
std::unique_ptr<transport::Transport> open_remote_target(const config::SyncConfig& sync,
                                                         base::Logger& logger);

// The same with default settings but `watching`.
std::unique_ptr<engine::SyncSession> make_session(const config::SyncConfig& sync, Watching watching,
                                                  base::Logger& logger);

} // namespace fsmirror::app
