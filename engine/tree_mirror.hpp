#pragma once
// Carries batches of changes from the source tree to a transport. Level-triggered: a change
// only says where to look; what is done depends on what the source holds when the batch runs,
// so collapsed or stale events can never make the target diverge. File transfers run on the
// worker pool; directories are made before their children, deletions run after transfers, and
// directory attributes are set last, deepest first. Deletions are planned before any runs and
// shown to a DeletionReviewer (the session's mass-delete guard), which may hold them all.
// The target's `.fsmirror` marker is never mirrored, reported or deleted.

#include "base/logger.hpp"
#include "engine/database_mirror.hpp"
#include "engine/directory_diff.hpp"
#include "engine/exclude_filter.hpp"
#include "engine/hard_link_index.hpp"
#include "engine/pending_changes.hpp"
#include "engine/source_tree.hpp"
#include "engine/worker_pool.hpp"
#include "safety/deletion_guard.hpp"
#include "transport/transport.hpp"

#include <atomic>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fsmirror::engine {

// When a deletion on the source is carried to the target (lsyncd's delete modes).
struct DeletePolicy {
    bool at_startup = true;
    bool while_running = true;
};

// Which pass a batch belongs to, for the delete policy.
enum class Phase {
    startup,  // the initial comparison
    running,  // changes seen while running
    recovery, // the comparison after the source came back: never deletes, since a source
              // that "came back" may be an empty mountpoint
    resumed,  // deletions the guard held, released by the operator: planned under a policy
              // that allowed them, so they run whatever the phase-specific policy says
};

struct TreeMirrorOptions {
    DeletePolicy deletes;
    transport::AttributePolicy attributes;
};

// Totals since start, readable from any thread.
struct MirrorCounters {
    std::atomic<std::uint64_t> files_written{0};
    std::atomic<std::uint64_t> bytes_written{0};
    std::atomic<std::uint64_t> entries_removed{0};
    std::atomic<std::uint64_t> renames{0};
    std::atomic<std::uint64_t> failures{0};
};

struct FailedChange {
    Change change;
    base::Error error;
};

// The deletions one batch has planned, shown to the reviewer before any of them runs.
struct DeletionPlan {
    std::vector<std::string> paths;   // sorted; nothing below another planned path
    std::uint64_t entries = 0;        // entries removed, everything below a directory included;
                                      // counting stops a little past the reviewer's count_limit()
    std::uint64_t target_entries = 0; // entries on the target before these deletions (estimate)
    safety::SourceRoot source_root = safety::SourceRoot::has_entries;
    Phase phase = Phase::running;
};

// Decides whether a batch's planned deletions run. Called on the session's thread.
class DeletionReviewer {
public:
    virtual ~DeletionReviewer() = default;
    // Returns true to let `plan` run now; false holds every path in it (BatchOutcome::held).
    virtual bool approve(const DeletionPlan& plan) = 0;
    // Counting the entries below a deleted directory may stop past this many.
    virtual std::uint64_t count_limit() const = 0;
};

// One SQLite snapshot that reached the target, for the recovery point.
struct SnapshotLanded {
    std::string path;
    TimePoint started; // when the snapshot was begun: every change seen before is in it
    TimePoint landed;  // when it was in place on the target
};

struct BatchOutcome {
    std::vector<FailedChange> failed; // to be retried
    std::vector<std::string> held;    // deletions the reviewer held, not done
    // A file with hard links changed whose other names are not all known: only a comparison
    // of the whole tree finds them (their size and mtime changed with it).
    bool rescan_needed = false;
    std::vector<SnapshotLanded> snapshots; // databases mirrored by this batch
    // Changes whose path was gone from the source: a rename not yet read may explain it, and
    // then the change must follow the file to its new name (PendingChanges::add_vanished).
    std::vector<Change> vanished;
};

class TreeMirror {
public:
    // With `databases`, SQLite databases are mirrored through snapshots and their -wal, -shm
    // and -journal companions are never copied; without, every file is copied as bytes.
    TreeMirror(SourceTree& source, transport::Transport& target, WorkerPool& pool,
               const ExcludeFilter& excludes, base::Logger& logger, TreeMirrorOptions options,
               DatabaseMirror* databases = nullptr);

    // Applies `batch`. Every change that could not be applied is returned for a retry; one
    // bad entry never stops the others. Deletions run only when the reviewer (if any) approves.
    BatchOutcome run_batch(const Batch& batch, Phase phase);

    // Learns of a name that just appeared on the source. A new name of a file with other
    // links is remembered at once: content written through it and the name removed again
    // before its batch runs changed the other names with no event that names them. Below a
    // directory whose creation is still queued the queue keeps no event at all (the
    // directory's comparison stands for them), so a batch that finds the new link gone sends
    // the inode's other names (a rescan finds those not known).
    void note_new_name(const std::string& path);

    // Learns of a directory that just appeared on the source (made, or moved in from outside
    // the tree). What was done in it before its watch was set went unreported: a hard link
    // made there may already have been written through (same size, old mtime put back), and
    // when it is removed before its directory's comparison runs, nothing names the change.
    // So its hard links are noted now as new names (see note_new_name). Looks at about
    // `budget` entries at most; returns how many it looked at.
    std::size_t note_new_directory(const std::string& path, std::size_t budget);

    // The reviewer consulted before deletions run; null approves everything. Not owned.
    void set_deletion_reviewer(DeletionReviewer* reviewer) { m_reviewer = reviewer; }

    const MirrorCounters& counters() const { return m_counters; }

    // Returns an estimate of the entries on the target (the marker excluded): counted by each
    // whole-tree batch, kept up to date by the creations and deletions in between.
    std::uint64_t target_entries_estimate() const;

    // The startup scan's seam (StartupScan compares one directory at a time on its own
    // threads; everything below is thread-safe).

    // Returns the plan that makes the target's directory `path` equal to the source's, given
    // both listings (see plan_directory), and notes the hard-linked names it lists. Reads the
    // headers of files with database companions when databases are mirrored.
    DirectoryPlan plan_directory_at(const std::string& path,
                                    std::vector<transport::DirEntry> source,
                                    std::vector<transport::DirEntry> target,
                                    QuickCheck quick_check);

    struct LeafOutcome {
        base::Status status;                    // not_found: the source changed meanwhile
        bool created = false;                   // nothing was at `path` on the target before
        std::optional<SnapshotLanded> snapshot; // a database mirrored through a snapshot
    };
    // Sends one leaf now, on the calling thread, given what the target holds at `path`.
    LeafOutcome send_leaf(const std::string& path, const transport::EntryInfo& source_info,
                          ChangeKind kind, const std::optional<transport::EntryInfo>& existing);

    // True when the attribute policy carries an attribute on which the two differ.
    bool attributes_differ(const transport::EntryInfo& source,
                           const transport::EntryInfo& target) const;

    // A comparison of the whole tree sends every name of the files whose names were not all
    // known: returns those inodes before it starts, to forget once it has finished.
    std::set<std::uint64_t> forced_inodes();
    void forget_forced_inodes(const std::set<std::uint64_t>& inodes);

    // Replaces the estimate with a count of the target's entries (a scan's).
    void set_target_entries_estimate(std::uint64_t entries);

private:
    struct BatchState;

    void apply_move(const Move& move, BatchState& state);
    void apply_change(const Change& change, BatchState& state);
    // Looks up the target entries of every path in `changes` together (one round trip over
    // SSH) and keeps them for the leaves that need them.
    void prefetch_target(const std::vector<Change>& changes, BatchState& state);
    // Returns the target's entry at `path`: as this batch already saw it, or looked up now.
    base::Result<std::optional<transport::EntryInfo>> target_entry(const std::string& path,
                                                                   BatchState& state);
    // Makes the target's subtree at `path` (a directory on both sides) equal to the source's.
    void reconcile(const std::string& path, BatchState& state,
                   QuickCheck quick_check = QuickCheck::trusted);
    void submit_leaf(const std::string& path, const transport::EntryInfo& source_info,
                     ChangeKind kind, unsigned attempts, BatchState& state);
    base::Status sync_leaf(const std::string& path, const transport::EntryInfo& source_info,
                           ChangeKind kind, BatchState& state);
    base::Status send_leaf_content(const std::string& path, const transport::EntryInfo& source_info,
                                   ChangeKind kind,
                                   const std::optional<transport::EntryInfo>& existing,
                                   std::optional<SnapshotLanded>& snapshot_landed);
    // When `path` is a companion of a source database: queues that database instead and
    // returns true.
    bool redirect_companion(const std::string& path, BatchState& state);
    // Returns the names in `entries` that are companions of a database among them, and adds
    // to `live` the databases whose -wal or -journal exists (their content may be newer than
    // the database file's size and time say).
    std::set<std::string> find_companions(const std::string& dir,
                                          const std::vector<transport::DirEntry>& entries,
                                          std::set<std::string>& live) const;
    void finish_directories(BatchState& state);
    bool deletes_allowed(Phase phase) const;
    // Whether a comparison may delete what is on the target alone. While running, a comparison
    // (an overflow's rescan, an unresolvable fanotify directory) finds extras no event
    // confirmed: under delete=running those are the startup extras that mode keeps.
    bool extras_deleted(Phase phase) const;
    // True when the target's mtime is the source's at the target's time resolution.
    bool same_mtime(const transport::EntryInfo& source, const transport::EntryInfo& target) const;
    void record_failure(BatchState& state, const std::string& path, ChangeKind kind,
                        unsigned attempts, base::Error error);
    DeletionPlan plan_deletions(BatchState& state);
    // Returns the entries at and below `path` on the target, stopping past `limit`.
    std::uint64_t count_entries(const std::string& path, std::uint64_t limit);
    safety::SourceRoot inspect_source_root() const;
    void run_deletions(BatchState& state, BatchOutcome& outcome);

    // The content of `inode` changed through a name that is gone: queues its other names for a
    // transfer, and a rescan when some of its names are unknown.
    void other_names_changed(std::uint64_t inode, BatchState& state);

    SourceTree& m_source;
    transport::Transport& m_target;
    WorkerPool& m_pool;
    const ExcludeFilter& m_excludes;
    base::Logger& m_logger;
    TreeMirrorOptions m_options;
    DatabaseMirror* m_databases;
    MirrorCounters m_counters;
    DeletionReviewer* m_reviewer = nullptr;
    std::atomic<std::int64_t> m_target_entries{0};
    HardLinkIndex m_hard_links;
};

} // namespace fsmirror::engine
