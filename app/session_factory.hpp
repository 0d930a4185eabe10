#pragma once
// Turns one validated SyncConfig into a ready-to-start SyncSession.

#include "base/logger.hpp"
#include "config/config.hpp"
#include "engine/sync_session.hpp"

#include <memory>
#include <stdexcept>

namespace fsmirror::app {

// A sync that cannot start (missing source, overlapping paths, unreadable exclude file).
class StartupError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Watching { yes, no };

// Checks the paths, creates a missing target whose parent exists, and builds the session,
// which reports to `reporter` when given (it must outlive the session).
// Throws StartupError with a message naming the sync, the path and the fix.
std::unique_ptr<engine::SyncSession> make_session(const config::SyncConfig& sync,
                                                  Watching watching, base::Logger& logger,
                                                  monitor::SyncReporter* reporter = nullptr);

} // namespace fsmirror::app
