#pragma once
// The mass-delete guard: a pure predicate over the deletions a batch has planned. When it
// fires, the session holds those deletions (and every later one), keeps mirroring everything
// else, and waits for the operator. lsyncd, started on an empty mountpoint, deletes the whole
// mirror; fsmirror never follows its source into emptiness on its own.

#include <cstdint>
#include <optional>
#include <string>

namespace fsmirror::safety {

struct DeletionGuardLimits {
    // A batch (with the deletions of the guard window before it) may delete at most this share
    // of the target's entries. 100 turns the share rule off.
    unsigned max_percent = 50;
    // ... and at most this many entries.
    std::uint64_t max_files = 1000;
};

// Below this many deletions the share rule does not apply: deleting 3 of 5 files is ordinary
// work, and a source that lost everything is caught by the empty-source rule at any size.
inline constexpr std::uint64_t k_share_rule_floor = 10;

enum class SourceRoot {
    has_entries, // the source root lists something that is mirrored
    empty,       // the source root is there but lists nothing that is mirrored
    missing,     // the source root cannot be listed (vanished, unmounted)
};

struct DeletionCounts {
    std::uint64_t planned = 0;        // entries this batch would delete, everything below a
                                      // deleted directory included
    std::uint64_t recent = 0;         // entries deleted within the guard window before it
    std::uint64_t target_entries = 0; // entries on the target before the window (an estimate)
    SourceRoot source_root = SourceRoot::has_entries;
};

enum class GuardReason {
    source_missing,  // deletions planned while the source root cannot be read
    source_empty,    // deletions planned while the source root is empty
    too_many_files,  // more than max_files
    too_large_share, // more than max_percent of the target
};

struct GuardVerdict {
    GuardReason reason;
    std::string message; // e.g. "the batch would delete 812 of 1000 entries (81%, over 50%)"
};

// Returns nullopt when the planned deletions may run, otherwise why they must wait. Nothing
// planned never trips.
std::optional<GuardVerdict> review_deletions(const DeletionCounts& counts,
                                             const DeletionGuardLimits& limits);

// Returns a short name for the reason ("source_empty"), for logs and state files.
const char* to_string(GuardReason reason);

} // namespace fsmirror::safety
