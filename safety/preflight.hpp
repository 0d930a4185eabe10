#pragma once
// The pre-flight checks for one source -> target pair, run by `fsmirror check` and before the
// first write of `run` and `sync`. Each check lives in its own file as a pure predicate over
// facts gathered here; this file gathers the facts and runs them in order.

#include "safety/finding.hpp"
#include "safety/target_ownership.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

namespace fsmirror::safety {

enum class WatchCheck {
    yes, // `run` and `check`: the source will be watched with inotify
    no,  // `sync` (a one-shot pass sets no watches) or fanotify (one mark, no watches)
};

struct PreflightRequest {
    std::filesystem::path source;
    std::filesystem::path target;
    // The target is on another machine (SSH): `target` only names it, and the checks that
    // look at it (non-empty, mount, free space) run over the connection instead
    // (safety/remote_target_checks.hpp); writable and overlap do not apply.
    bool remote_target = false;
    bool require_source_mount = false;
    bool require_target_mount = false;
    WatchCheck watches = WatchCheck::yes;
    NonEmptyTarget non_empty = NonEmptyTarget::refuse;
    IgnoredEntry excluded; // root entries the sync's excludes leave alone on the target
    unsigned parallel_transfers = 4;
    // Watches the syncs checked before this one (in the same daemon) will hold.
    std::uint64_t watches_planned = 0;
    // `--events auto`: a tree of more directories than this is watched by fanotify when
    // `fanotify_usable` says it can be, so the census stops counting there and no watches are
    // checked. Asked only for such a tree: a small one never calls fanotify, whose system
    // calls a sandboxed service may not allow (the filter kills the process).
    std::optional<std::uint64_t> watches_unneeded_above;
    std::function<bool()> fanotify_usable;
};

struct PreflightReport {
    std::vector<Finding> findings;    // in the order the checks ran
    std::uint64_t watches_needed = 0; // this sync's directories, for the next sync's request
    // The source's directories as the census counted them (excluded ones included), so that
    // choosing the event source need not walk the tree again; nullopt when not counted.
    std::optional<std::uint64_t> directories_counted;
    // True when no finding is an error.
    bool passed() const;
};

// Runs every check for `request`. Never throws; a check that cannot gather its facts reports
// a warning saying so.
PreflightReport run_preflight(const PreflightRequest& request);

} // namespace fsmirror::safety
