#pragma once
// The pre-flight checks that look at an SSH target, run over its connection with the same
// predicates as for a local one: the non-empty check (the `.fsmirror` marker's contents read
// remotely), require_mount for the target (answered by the agent; the SFTP fallback cannot
// tell) and free space (statvfs on the remote: the agent's, or SFTP's statvfs@openssh.com).
// `fsmirror check` runs them on a connection of its own, `run` and `sync` on the session's.

#include "safety/finding.hpp"
#include "safety/target_ownership.hpp"
#include "transport/transport.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::safety {

struct RemoteTargetRequest {
    std::filesystem::path source;
    std::string target;      // as configured ("user@host:/srv/mirror"), names the findings
    std::string host;        // the remote machine, for the fixes
    std::string remote_path; // the target directory on it
    bool require_mount = false;
    NonEmptyTarget non_empty = NonEmptyTarget::refuse;
    IgnoredEntry excluded; // root entries the sync's excludes leave alone on the target
    unsigned parallel_transfers = 4;
};

struct RemoteTargetReport {
    std::vector<Finding> findings; // non-empty-target, target-mount, free-space, in this order
    // What the root held; nullopt when it could not be listed (then no marker may be written).
    std::optional<TargetListing> listing;
    // True when no finding is an error.
    bool passed() const;
};

// Runs the checks over `target`. Never throws. A fact that cannot be gathered is a warning
// saying so, except for require_mount, which asks for certainty: a mount point that cannot be
// checked (no agent on the remote) is an error that says why.
RemoteTargetReport check_remote_target(const RemoteTargetRequest& request,
                                       transport::Transport& target);

} // namespace fsmirror::safety
