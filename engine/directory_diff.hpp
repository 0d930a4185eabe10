#pragma once
// What comparing one directory decides: given the source's and the target's listings of the
// same directory, which subdirectories to make and enter, which leaves to send, which only
// need their attributes set, and what exists only on the target. Pure (no IO, no clock): the
// facts it needs beyond the two listings come in DirectoryRules. TreeMirror's whole-tree
// comparison and the startup scan both act on it, so they cannot disagree.

#include "engine/exclude_filter.hpp"
#include "engine/pending_changes.hpp"
#include "transport/entry_info.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fsmirror::engine {

// Whether a comparison may skip a file whose size and mtime match on the target.
enum class QuickCheck {
    trusted,     // the usual comparison
    not_trusted, // below a directory just created: whatever the target holds there was put by
                 // a comparison that ran before the creation was read, so nothing is skipped
};

struct DirectoryRules {
    std::string path; // the directory compared, relative ("" for the root)
    QuickCheck quick_check = QuickCheck::trusted;
    // Excluded entries are left alone on both sides; null excludes nothing.
    std::function<bool(const std::string& child, EntryKind kind)> excluded;
    // Source names never mirrored as files (the -wal, -shm, -journal of a database there).
    std::set<std::string> companions;
    // Databases whose -wal or -journal exists: their content may be newer than the database
    // file's size and time say, so they are always sent.
    std::set<std::string> live_databases;
    // True when the target's mtime is the source's at the target's time resolution.
    std::function<bool(const transport::EntryInfo& source, const transport::EntryInfo& target)>
        same_mtime;
    // True when the attribute policy carries an attribute on which the two differ.
    std::function<bool(const transport::EntryInfo& source, const transport::EntryInfo& target)>
        attributes_differ;
    // True for a file whose every name must be sent even when it looks unchanged (its content
    // changed through a name that is gone); null forces nothing.
    std::function<bool(std::uint64_t inode)> forced;
};

struct PlannedDirectory {
    std::string name;
    transport::EntryInfo source;
    bool make = false;              // absent on the target, or not a directory there
    bool absent = false;            // nothing at all of that name on the target
    bool attributes_differ = false; // its attributes are to be set once its content is done
};

struct PlannedLeaf {
    std::string name;
    transport::EntryInfo source;
    std::optional<transport::EntryInfo> target; // what the target holds there now
    ChangeKind kind = ChangeKind::create;       // create (absent) or modify
};

struct PlannedAttributes {
    std::string name;
    transport::EntryInfo source; // up to date but for the attributes this carries
};

struct DirectoryPlan {
    std::vector<PlannedDirectory> directories; // every source subdirectory to compare
    std::vector<PlannedLeaf> transfers;        // files, symlinks and specials to send
    std::vector<PlannedAttributes> attributes;
    // Files with several links (name: the relative path), for the hard-link index.
    std::vector<transport::DirEntry> hard_linked;
    std::vector<transport::DirEntry> extras; // only on the target and not excluded
    std::uint64_t target_entries = 0;        // on the target (its root's marker not counted)
};

// Returns what makes the target's directory `rules.path` equal to the source's one level
// deep. The root's `.fsmirror` marker is neither mirrored (from a source that was a mirror
// once) nor reported as an extra; excluded and companion names are skipped on both sides,
// except that a companion still on the target is an extra.
DirectoryPlan plan_directory(const DirectoryRules& rules, std::vector<transport::DirEntry> source,
                             std::vector<transport::DirEntry> target);

} // namespace fsmirror::engine
