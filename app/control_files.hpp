#pragma once
// How `fsmirror resume` (a separate process) talks to a running daemon: small files in
// <state_dir>/<sync name>/. The daemon writes `paused` when the mass-delete guard holds
// deletions and removes it once they are released; `fsmirror resume` writes `resume`, which the
// daemon's main loop polls once a second and removes when it has passed the request on.
// Files rather than a signal: they address one sync of several, need no PID, survive log
// rotation, and `paused` doubles as a state the monitor and operators can read.

#include "base/error.hpp"
#include "engine/session_state.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace fsmirror::app {

// Returns the state directory: `flag` (--state-dir), else `configured` (state_dir in the
// config), else the first path of $STATE_DIRECTORY, else /var/lib/fsmirror.
std::filesystem::path resolve_state_dir(const std::optional<std::filesystem::path>& flag,
                                        const std::optional<std::filesystem::path>& configured);

class ControlFiles {
public:
    explicit ControlFiles(std::filesystem::path state_dir);

    const std::filesystem::path& state_dir() const { return m_state_dir; }

    // Returns <state_dir>/<sync_name>.
    std::filesystem::path sync_dir(const std::string& sync_name) const;

    // Writes `paused` (atomically, creating the directories) describing `status`.
    base::Status write_paused(const std::string& sync_name, const engine::SessionStatus& status);

    // Removes `paused`; absent is fine.
    void clear_paused(const std::string& sync_name);

    // Returns the text of `paused`, nullopt when the sync is not paused.
    std::optional<std::string> read_paused(const std::string& sync_name) const;

    // Writes `resume` (for `fsmirror resume`).
    base::Status request_resume(const std::string& sync_name);

    // True when a resume request is pending; false once it has been taken.
    bool resume_pending(const std::string& sync_name) const;

    // Returns true (and removes the file) when `fsmirror resume` asked for `sync_name`.
    bool take_resume_request(const std::string& sync_name);

    // At daemon start: removes a `resume` and a `paused` left by an earlier run, so an old
    // request cannot pre-approve the deletions of a new one.
    void clear_stale(const std::string& sync_name);

private:
    std::filesystem::path m_state_dir;
};

} // namespace fsmirror::app
