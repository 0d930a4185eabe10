#pragma once
// What a session is doing, as the monitor, the status file and the control files see it. The
// engine reports through SessionObserver, handed to it by the app; it never reaches into the
// monitor.

#include <cstddef>
#include <string>

namespace fsmirror::engine {

enum class SessionState {
    starting,         // watches being set
    initial_sync,     // the first whole-tree comparison
    watching,         // mirroring changes as they come
    deletions_paused, // the mass-delete guard holds deletions; the rest is still mirrored
    source_lost,      // the source root vanished or was unmounted; nothing is deleted
    target_lost,      // the target root is unreachable; every change is held
    target_refused,   // its pre-flight checks refuse the target; every change is held
    stopped,
};

struct SessionStatus {
    SessionState state = SessionState::starting;
    std::string reason;             // why, for the paused and lost states ("" otherwise)
    std::size_t held_deletions = 0; // paths the guard holds
    bool operator==(const SessionStatus&) const = default;
};

// Returns the state's name as logged: "watching", "deletions_paused", ...
const char* to_string(SessionState state);

class SessionObserver {
public:
    virtual ~SessionObserver() = default;
    // Called on the session's thread each time its status changes.
    virtual void on_status(const std::string& sync_name, const SessionStatus& status) = 0;
};

} // namespace fsmirror::engine
