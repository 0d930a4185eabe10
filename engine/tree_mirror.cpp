#include "engine/tree_mirror.hpp"

#include "base/rel_path.hpp"
#include "transport/local_fs.hpp"
#include "transport/target_marker.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include <sys/stat.h>

namespace fsmirror::engine {

using transport::EntryInfo;
using transport::EntryType;

struct TreeMirror::BatchState {
    Phase phase;
    std::mutex mutex; // guards `failed` and `snapshots` (written by pool threads)
    std::vector<FailedChange> failed;
    std::vector<SnapshotLanded> snapshots;
    std::set<std::string> content_leaves; // files submitted for their content, to send each once
    std::vector<std::pair<std::string, unsigned>> removals;
    std::set<std::string> touched_directories;
    std::vector<Change> follow_ups;       // moves the target could not do become copies
    bool whole_tree = false;              // the batch compares the whole tree (startup, recovery)
    std::set<std::string> holding;        // directories with held deletions below: left as they are
    std::uint64_t listed = 0;             // target entries seen by the comparisons
    std::atomic<std::int64_t> created{0}; // entries new on the target
    std::vector<std::string> other_links; // hard links of transferred files (pool threads)
    bool rescan_needed = false;           // guarded by `mutex`
    std::vector<Change> vanished;         // content changes whose path was gone (`mutex`)
    // What the target held at a path when this batch looked (a listing, or the stats fetched
    // together up front), so a leaf costs no lookup of its own; each is used once. Guarded by
    // `mutex`.
    std::unordered_map<std::string, std::optional<EntryInfo>> target_known;
    std::atomic<std::uint64_t> target_lookups{0};     // target entries asked for one by one...
    std::atomic<std::uint64_t> target_round_trips{0}; // ...or together: requests awaited

    void touch_with_ancestors(const std::string& path) {
        std::string dir = path;
        for (;;) {
            if (!touched_directories.insert(dir).second)
                return; // its ancestors are in already
            if (dir.empty())
                return;
            dir = base::parent_rel(dir);
        }
    }
};

namespace {

std::string shown(const std::string& path) {
    return "/" + path;
}

// Returns `ns` rounded down to a multiple of `granularity` (a target storing whole seconds
// holds the source's time rounded down).
std::int64_t at_granularity(std::int64_t ns, std::int64_t granularity) {
    if (granularity <= 1)
        return ns;
    auto remainder = ns % granularity;
    if (remainder < 0)
        remainder += granularity;
    return ns - remainder;
}

} // namespace

TreeMirror::TreeMirror(SourceTree& source, transport::Transport& target, WorkerPool& pool,
                       const ExcludeFilter& excludes, base::Logger& logger,
                       TreeMirrorOptions options, DatabaseMirror* databases)
    : m_source(source), m_target(target), m_pool(pool), m_excludes(excludes), m_logger(logger),
      m_options(options), m_databases(databases), m_hard_links(source, excludes, logger) {}

bool TreeMirror::deletes_allowed(Phase phase) const {
    switch (phase) {
    case Phase::startup:
        return m_options.deletes.at_startup;
    case Phase::running:
        return m_options.deletes.while_running;
    case Phase::recovery:
        return false;
    case Phase::resumed:
        return true;
    }
    return false;
}

bool TreeMirror::extras_deleted(Phase phase) const {
    if (phase == Phase::running)
        return m_options.deletes.while_running && m_options.deletes.at_startup;
    return deletes_allowed(phase);
}

bool TreeMirror::same_mtime(const EntryInfo& source, const EntryInfo& target) const {
    return at_granularity(source.mtime_ns, m_target.mtime_granularity_ns()) == target.mtime_ns;
}

bool TreeMirror::attributes_differ(const EntryInfo& source, const EntryInfo& target) const {
    const auto& policy = m_options.attributes;
    if (policy.mode && source.type != EntryType::symlink && source.mode != target.mode)
        return true;
    if (policy.times && !same_mtime(source, target))
        return true;
    if (policy.owner && (source.uid != target.uid || source.gid != target.gid))
        return true;
    return false;
}

void TreeMirror::record_failure(BatchState& state, const std::string& path, ChangeKind kind,
                                unsigned attempts, base::Error error) {
    m_counters.failures.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(state.mutex);
    state.failed.push_back(FailedChange{Change{path, kind, attempts + 1}, std::move(error)});
}

BatchOutcome TreeMirror::run_batch(const Batch& batch, Phase phase) {
    BatchState state;
    state.phase = phase;
    state.whole_tree = std::any_of(batch.changes.begin(), batch.changes.end(), [](const Change& c) {
        return c.path.empty() && c.kind == ChangeKind::tree;
    });
    std::set<std::uint64_t> forced_before;
    if (state.whole_tree)
        forced_before = m_hard_links.forced_inodes();
    // A lost name is looked up as the index names it before the moves (the moves mapped
    // back) and after them, since the moves also rename the index.
    std::set<std::uint64_t> lost_inodes;
    for (const auto& path : batch.lost_content) {
        std::string before = path;
        for (auto move = batch.moves.rbegin(); move != batch.moves.rend(); ++move)
            if (base::is_same_or_under(before, move->to))
                before = move->from + before.substr(move->to.size());
        for (const auto& name : {before, path})
            if (auto inode = m_hard_links.hard_link_inode(name))
                lost_inodes.insert(*inode);
    }
    // A new hard link gone since may have been written through with no event the queue kept
    // (before its directory was watched, or below a directory whose creation is queued, whose
    // comparison stands for every event below it): as good as content lost with its name.
    // One still there is sent by its creation or its directory's comparison, which sends its
    // other names.
    lost_inodes.merge(m_hard_links.new_links_gone(batch.moves));
    for (const auto& move : batch.moves)
        apply_move(move, state);
    for (const auto& path : batch.lost_content)
        if (auto inode = m_hard_links.hard_link_inode(path))
            lost_inodes.insert(*inode);
    for (auto inode : lost_inodes)
        other_names_changed(inode, state);
    prefetch_target(batch.changes, state);
    for (const auto& change : batch.changes)
        apply_change(change, state);
    // By index: applying a follow-up may queue another (a companion queues its database).
    for (std::size_t i = 0; i < state.follow_ups.size(); ++i) {
        const Change change = state.follow_ups[i];
        apply_change(change, state);
    }
    m_pool.wait_idle();
    // Names sharing an inode with a transferred file changed with it.
    for (int round = 0; round < 2 && !state.other_links.empty(); ++round) {
        std::vector<std::string> links;
        {
            std::lock_guard lock(state.mutex);
            links.swap(state.other_links);
        }
        for (const auto& path : links)
            if (!state.content_leaves.contains(path))
                apply_change(Change{path, ChangeKind::modify, 0}, state);
        m_pool.wait_idle();
    }
    m_hard_links.forget_new_links_sent(state.content_leaves);

    // Deletions after transfers, so a failed transfer never leaves the target with less.
    BatchOutcome outcome;
    run_deletions(state, outcome);
    finish_directories(state);
    if (auto flushed = m_target.flush(); !flushed)
        m_logger.warning("{}", flushed.error().message);
    if (state.whole_tree) // this comparison found and transferred every name of those inodes
        m_hard_links.forget_forced_inodes(forced_before);
    if (state.target_lookups.load() > 0)
        m_logger.debug("looked up {} target entries in {} round trips", state.target_lookups.load(),
                       state.target_round_trips.load());
    outcome.failed = std::move(state.failed);
    outcome.vanished = std::move(state.vanished);
    outcome.rescan_needed = state.rescan_needed;
    outcome.snapshots = std::move(state.snapshots);
    return outcome;
}

void TreeMirror::prefetch_target(const std::vector<Change>& changes, BatchState& state) {
    std::vector<std::string> paths;
    for (const auto& change : changes)
        if (!change.path.empty() && change.kind != ChangeKind::remove &&
            !transport::is_reserved_path(change.path))
            paths.push_back(change.path);
    // One path gains nothing from going first; it is looked up when (and if) it is needed.
    if (paths.size() < 2)
        return;
    auto found = m_target.stat_many(paths);
    state.target_lookups.fetch_add(paths.size());
    state.target_round_trips.fetch_add(1);
    std::lock_guard lock(state.mutex);
    for (std::size_t i = 0; i < paths.size(); ++i)
        if (found[i]) // a failed lookup is repeated, and reported, where it is needed
            state.target_known.insert_or_assign(paths[i], std::move(*found[i]));
}

base::Result<std::optional<EntryInfo>> TreeMirror::target_entry(const std::string& path,
                                                                BatchState& state) {
    {
        std::lock_guard lock(state.mutex);
        // Used once: after this the leaf may change the target, and a later look must see it.
        if (auto known = state.target_known.extract(path))
            return std::move(known.mapped());
    }
    state.target_lookups.fetch_add(1);
    state.target_round_trips.fetch_add(1);
    return m_target.stat(path);
}

std::uint64_t TreeMirror::target_entries_estimate() const {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, m_target_entries.load()));
}

void TreeMirror::set_target_entries_estimate(std::uint64_t entries) {
    m_target_entries.store(static_cast<std::int64_t>(entries));
}

std::set<std::uint64_t> TreeMirror::forced_inodes() {
    return m_hard_links.forced_inodes();
}

void TreeMirror::forget_forced_inodes(const std::set<std::uint64_t>& inodes) {
    m_hard_links.forget_forced_inodes(inodes);
}

void TreeMirror::run_deletions(BatchState& state, BatchOutcome& outcome) {
    std::int64_t before =
        state.whole_tree ? static_cast<std::int64_t>(state.listed) : m_target_entries.load();
    if (state.removals.empty()) {
        m_target_entries.store(before + state.created.load());
        return;
    }
    std::map<std::string, unsigned> attempts(state.removals.begin(), state.removals.end());
    DeletionPlan plan = plan_deletions(state);
    if (state.whole_tree) // the comparison did not walk into directories only the target has
        before += static_cast<std::int64_t>(plan.entries - plan.paths.size());
    plan.target_entries = static_cast<std::uint64_t>(std::max<std::int64_t>(0, before));
    if (m_reviewer && !m_reviewer->approve(plan)) {
        m_logger.debug("holding {} deletions ({} entries)", plan.paths.size(), plan.entries);
        // Their directories keep their target times: they do not hold what the source does.
        for (const auto& path : plan.paths)
            for (std::string dir = base::parent_rel(path);; dir = base::parent_rel(dir)) {
                if (!state.holding.insert(dir).second || dir.empty())
                    break;
            }
        outcome.held = std::move(plan.paths);
        m_target_entries.store(before + state.created.load());
        return;
    }
    std::int64_t removed = 0;
    for (auto it = plan.paths.rbegin(); it != plan.paths.rend(); ++it) {
        const std::string& path = *it;
        if (auto done = m_target.remove(path); !done) {
            record_failure(state, path, ChangeKind::remove, attempts[path], done.error());
            continue;
        }
        ++removed;
        m_counters.entries_removed.fetch_add(1, std::memory_order_relaxed);
        m_logger.debug("deleted {}", shown(path));
    }
    // Entries below deleted directories count too; a failed removal is retried (and counted
    // again then), so assume the plan ran whole.
    std::int64_t entries = removed == 0 ? 0 : static_cast<std::int64_t>(plan.entries);
    m_target_entries.store(std::max<std::int64_t>(0, before - entries + state.created.load()));
}

DeletionPlan TreeMirror::plan_deletions(BatchState& state) {
    DeletionPlan plan;
    plan.phase = state.phase;
    std::vector<std::string> paths;
    paths.reserve(state.removals.size());
    for (const auto& [path, attempts] : state.removals)
        paths.push_back(path);
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    // Drop paths below another planned path: removing the ancestor removes them.
    std::unordered_set<std::string> kept;
    for (const auto& path : paths) {
        bool covered = false;
        for (std::string dir = base::parent_rel(path); !dir.empty(); dir = base::parent_rel(dir)) {
            if (kept.contains(dir)) {
                covered = true;
                break;
            }
        }
        if (!covered) {
            kept.insert(path);
            plan.paths.push_back(path);
        }
    }
    if (!m_reviewer) {
        plan.entries = plan.paths.size();
        return plan;
    }
    const std::uint64_t limit = m_reviewer->count_limit();
    for (const auto& path : plan.paths) {
        const std::uint64_t left = plan.entries > limit ? 0 : limit - plan.entries;
        plan.entries += left == 0 ? 1 : count_entries(path, left);
    }
    plan.source_root = inspect_source_root();
    return plan;
}

std::uint64_t TreeMirror::count_entries(const std::string& path, std::uint64_t limit) {
    auto info = m_target.stat(path);
    if (!info || !*info)
        return info ? 0 : 1;
    std::uint64_t count = 1;
    if ((*info)->type != EntryType::directory)
        return count;
    std::vector<std::string> pending{path};
    while (!pending.empty() && count <= limit) {
        std::string dir = std::move(pending.back());
        pending.pop_back();
        auto entries = m_target.list_directory(dir);
        if (!entries)
            continue;
        for (const auto& entry : *entries) {
            ++count;
            if (entry.info.type == EntryType::directory)
                pending.push_back(base::join_rel(dir, entry.name));
        }
    }
    return count;
}

safety::SourceRoot TreeMirror::inspect_source_root() const {
    auto found = m_source.any_entry("", [this](std::string_view name, bool is_directory) {
        return !transport::is_marker_path(name) &&
               !m_excludes.is_excluded(name, is_directory ? EntryKind::directory : EntryKind::file);
    });
    if (!found)
        return safety::SourceRoot::missing;
    return *found ? safety::SourceRoot::has_entries : safety::SourceRoot::empty;
}

void TreeMirror::apply_move(const Move& move, BatchState& state) {
    if (transport::is_reserved_path(move.from) || transport::is_reserved_path(move.to)) {
        // Into or out of the marker's name: the other side is a plain creation or deletion.
        if (!transport::is_reserved_path(move.to))
            state.follow_ups.push_back(Change{move.to, ChangeKind::tree, 0});
        if (!transport::is_reserved_path(move.from))
            state.follow_ups.push_back(Change{move.from, ChangeKind::remove, 0});
        return;
    }
    m_hard_links.rename_hard_link_names(move.from, move.to);
    state.touch_with_ancestors(base::parent_rel(move.from));
    // A directory moved to another parent gets a new ".." entry, and so a new mtime, on
    // both sides at different times: set it from the source's again.
    state.touch_with_ancestors(move.to);
    // A database arriving under a new name must not meet a stale -wal left there: clear the
    // companions of the new name first, as before any snapshot lands (see DatabaseMirror).
    const bool database = m_databases && m_databases->is_database(move.to);
    if (database) {
        if (auto cleared = m_databases->remove_target_companions(move.to); !cleared) {
            record_failure(state, move.to, ChangeKind::tree, 0, cleared.error());
            return;
        }
    }
    auto renamed = m_target.rename(move.from, move.to);
    if (renamed) {
        if (database)
            (void)m_databases->remove_target_companions(move.from);
        m_counters.renames.fetch_add(1, std::memory_order_relaxed);
        m_logger.debug("Moving {} -> {}", shown(move.from), shown(move.to));
        // What arrived under the new name is checked against the source by size and mtime (no
        // data moves when it matches): a comparison that ran before this event was read may
        // already have put newer data there, which the rename just replaced.
        auto moved = m_target.stat(move.to);
        bool is_directory = moved && *moved && (*moved)->type == EntryType::directory;
        ChangeKind check = ChangeKind::tree;
        if (!is_directory) {
            // Only attributes, unless what arrived is not the source's file by size and mtime
            // (the old name's content was overwritten on the target after the rename happened
            // on the source).
            auto source_info = m_source.stat(move.to);
            bool same = source_info && *source_info && moved && *moved &&
                        (*source_info)->type == (*moved)->type &&
                        (*source_info)->size == (*moved)->size &&
                        same_mtime(**source_info, **moved);
            check = same || !source_info || !*source_info ? ChangeKind::attrib : ChangeKind::modify;
        }
        state.follow_ups.push_back(Change{move.to, check, 0});
        return;
    }
    if (renamed.error().kind == base::ErrorKind::not_found) {
        // The target never had the old name (an earlier failure): copy the new one instead.
        state.follow_ups.push_back(Change{move.to, ChangeKind::tree, 0});
        return;
    }
    record_failure(state, move.to, ChangeKind::tree, 0, renamed.error());
    // The old name stays on the target until the copy succeeds; remove it with the batch.
    if (deletes_allowed(state.phase))
        state.removals.emplace_back(move.from, 0);
}

void TreeMirror::apply_change(const Change& change, BatchState& state) {
    if (transport::is_reserved_path(change.path))
        return;
    auto source_info = m_source.stat(change.path);
    if (!source_info) {
        record_failure(state, change.path, change.kind, change.attempts, source_info.error());
        return;
    }
    if (!*source_info) {
        // Only a removal the events confirm deletes. A path that is merely absent now may have
        // been renamed by an event still in the kernel's queue: deleting it here would destroy
        // the data that rename is about to carry to its new name.
        if (change.kind != ChangeKind::remove) {
            m_logger.debug("{} is gone from the source; its event will follow", shown(change.path));
            // Content changes go back to the queue for that event to carry to the new name:
            // once the rename has run on the target, the file's size and mtime there may
            // match a rewritten source file and no comparison would send it.
            if (change.kind != ChangeKind::attrib) {
                std::lock_guard lock(state.mutex);
                state.vanished.push_back(change);
            }
            return;
        }
        state.touch_with_ancestors(base::parent_rel(change.path));
        if (!change.path.empty())
            m_hard_links.forget_names_under(change.path);
        if (change.only_if_on_target) {
            // Most such entries (temporary files) never reached the target: nothing to do,
            // and nothing for the mass-delete guard to count.
            auto held = target_entry(change.path, state);
            if (held && !*held)
                return;
        }
        if (!change.path.empty() && deletes_allowed(state.phase))
            state.removals.emplace_back(change.path, change.attempts);
        return;
    }
    const EntryInfo& info = **source_info;
    if (info.type != EntryType::directory) {
        state.touch_with_ancestors(base::parent_rel(change.path));
        if (redirect_companion(change.path, state))
            return;
        submit_leaf(change.path, info, change.kind, change.attempts, state);
        return;
    }
    state.touch_with_ancestors(change.path);
    if (!change.path.empty()) {
        if (auto before = target_entry(change.path, state); before && !*before)
            state.created.fetch_add(1);
    }
    if (auto made = m_target.make_directory(change.path, info); !made) {
        record_failure(state, change.path, ChangeKind::tree, change.attempts, made.error());
        return;
    }
    // Below a new directory the queue kept no changes; whatever the target already holds
    // there was put by a comparison that ran before the directory's creation was read, and
    // was rewritten since, perhaps keeping its size and mtime. So nothing there is skipped.
    if (change.kind == ChangeKind::tree || change.kind == ChangeKind::create ||
        change.kind == ChangeKind::modify)
        reconcile(change.path, state,
                  change.new_directory ? QuickCheck::not_trusted : QuickCheck::trusted);
}

DirectoryPlan TreeMirror::plan_directory_at(const std::string& path,
                                            std::vector<transport::DirEntry> source,
                                            std::vector<transport::DirEntry> target,
                                            QuickCheck quick_check) {
    DirectoryRules rules;
    rules.path = path;
    rules.quick_check = quick_check;
    rules.excluded = [this](const std::string& child, EntryKind kind) {
        return m_excludes.is_excluded(child, kind);
    };
    rules.companions = find_companions(path, source, rules.live_databases);
    rules.same_mtime = [this](const EntryInfo& a, const EntryInfo& b) {
        return same_mtime(a, b);
    };
    rules.attributes_differ = [this](const EntryInfo& a, const EntryInfo& b) {
        return attributes_differ(a, b);
    };
    std::set<std::uint64_t> forced = m_hard_links.forced_inodes();
    if (!forced.empty())
        rules.forced = [&forced](std::uint64_t inode) {
            return forced.contains(inode);
        };
    auto plan = plan_directory(rules, std::move(source), std::move(target));
    for (const auto& linked : plan.hard_linked)
        m_hard_links.note_hard_link(linked.name, linked.info);
    return plan;
}

void TreeMirror::reconcile(const std::string& path, BatchState& state, QuickCheck quick_check) {
    auto source_entries = m_source.list_directory(path);
    if (!source_entries) {
        if (source_entries.error().kind != base::ErrorKind::not_found)
            record_failure(state, path, ChangeKind::tree, 0, source_entries.error());
        return;
    }
    auto target_entries = m_target.list_directory(path);
    if (!target_entries) {
        record_failure(state, path, ChangeKind::tree, 0, target_entries.error());
        return;
    }
    auto plan = plan_directory_at(path, std::move(*source_entries), std::move(*target_entries),
                                  quick_check);
    state.listed += plan.target_entries;

    bool changed = false;
    for (const auto& dir : plan.directories) {
        std::string child = base::join_rel(path, dir.name);
        if (dir.make) {
            if (auto made = m_target.make_directory(child, dir.source); !made) {
                record_failure(state, child, ChangeKind::tree, 0, made.error());
                continue;
            }
            if (dir.absent)
                state.created.fetch_add(1);
            changed = true;
        }
        if (dir.attributes_differ)
            state.touch_with_ancestors(child);
        reconcile(child, state, quick_check);
    }
    for (const auto& attributes : plan.attributes) {
        std::string child = base::join_rel(path, attributes.name);
        if (auto set = m_target.set_attributes(child, attributes.source); !set)
            record_failure(state, child, ChangeKind::attrib, 0, set.error());
    }
    for (auto& leaf : plan.transfers) {
        std::string child = base::join_rel(path, leaf.name);
        {
            std::lock_guard lock(state.mutex);
            state.target_known.insert_or_assign(child, std::move(leaf.target));
        }
        submit_leaf(child, leaf.source, leaf.kind, 0, state);
        changed = true;
    }
    if (extras_deleted(state.phase)) {
        for (const auto& extra : plan.extras) {
            state.removals.emplace_back(base::join_rel(path, extra.name), 0);
            changed = true;
        }
    }
    if (changed)
        state.touch_with_ancestors(path);
}

void TreeMirror::submit_leaf(const std::string& path, const EntryInfo& source_info, ChangeKind kind,
                             unsigned attempts, BatchState& state) {
    if (source_info.type == EntryType::other) {
        m_logger.debug("skipping special file {}", shown(path));
        return;
    }
    if (kind != ChangeKind::attrib && !state.content_leaves.insert(path).second)
        return; // already on its way in this batch
    m_pool.submit(
        [this, path, source_info, kind, attempts, &state] {
            if (source_info.type == EntryType::file && source_info.link_count > 1) {
                bool unknown_names = false;
                auto others = m_hard_links.note_hard_link(path, source_info, &unknown_names);
                std::lock_guard lock(state.mutex);
                state.other_links.insert(state.other_links.end(), others.begin(), others.end());
                state.rescan_needed = state.rescan_needed || unknown_names;
            }
            if (auto synced = sync_leaf(path, source_info, kind, state); !synced) {
                if (synced.error().kind == base::ErrorKind::not_found) {
                    // It changed again while we looked; the event for that is on its way. When
                    // that was a rename, the change must follow the file (see apply_change).
                    m_logger.debug("{} changed during transfer: {}", shown(path),
                                   synced.error().message);
                    if (kind != ChangeKind::attrib) {
                        std::lock_guard lock(state.mutex);
                        state.vanished.push_back(Change{path, kind, attempts});
                    }
                    return;
                }
                record_failure(state, path, kind, attempts, synced.error());
            }
        },
        WorkerPool::Wake::caller); // apply_batch ends in wait_idle
}

bool TreeMirror::redirect_companion(const std::string& path, BatchState& state) {
    if (!m_databases)
        return false;
    auto companion = m_databases->database_of(path);
    if (!companion)
        return false;
    if (!state.content_leaves.contains(companion->database) &&
        !m_databases->is_excluded(companion->database))
        state.follow_ups.push_back(Change{companion->database, ChangeKind::modify, 0});
    return true;
}

std::set<std::string> TreeMirror::find_companions(const std::string& dir,
                                                  const std::vector<transport::DirEntry>& entries,
                                                  std::set<std::string>& live) const {
    std::set<std::string> companions;
    if (!m_databases)
        return companions;
    std::unordered_map<std::string_view, EntryType> types;
    for (const auto& entry : entries)
        types.emplace(entry.name, entry.info.type);
    std::unordered_map<std::string, bool> is_database; // by name, each read once
    for (const auto& entry : entries) {
        auto companion = companion_of(entry.name);
        if (!companion)
            continue;
        auto base_type = types.find(companion->database);
        if (base_type == types.end() || base_type->second != EntryType::file)
            continue;
        auto [verdict, fresh] = is_database.try_emplace(companion->database, false);
        if (fresh)
            verdict->second = m_databases->is_database(base::join_rel(dir, companion->database));
        if (!verdict->second)
            continue;
        companions.insert(entry.name);
        if (companion->kind != CompanionKind::shm)
            live.insert(companion->database);
    }
    return companions;
}

base::Status TreeMirror::sync_leaf(const std::string& path, const EntryInfo& source_info,
                                   ChangeKind kind, BatchState& state) {
    auto existing = target_entry(path, state);
    if (!existing)
        return std::unexpected(existing.error());
    auto sent = send_leaf(path, source_info, kind, *existing);
    if (sent.created)
        state.created.fetch_add(1);
    if (sent.snapshot) {
        std::lock_guard lock(state.mutex);
        state.snapshots.push_back(*sent.snapshot);
    }
    return sent.status;
}

TreeMirror::LeafOutcome TreeMirror::send_leaf(const std::string& path, const EntryInfo& source_info,
                                              ChangeKind kind,
                                              const std::optional<EntryInfo>& existing) {
    LeafOutcome outcome;
    outcome.created = !existing;
    outcome.status = send_leaf_content(path, source_info, kind, existing, outcome.snapshot);
    return outcome;
}

base::Status TreeMirror::send_leaf_content(const std::string& path, const EntryInfo& source_info,
                                           ChangeKind kind,
                                           const std::optional<EntryInfo>& existing,
                                           std::optional<SnapshotLanded>& snapshot_landed) {
    if (source_info.type == EntryType::symlink) {
        const auto& target = existing;
        if (target && target->type == EntryType::symlink &&
            target->link_target == source_info.link_target) {
            if (attributes_differ(source_info, *target))
                return m_target.set_attributes(path, source_info);
            return {};
        }
        auto linked = m_target.put_symlink(path, source_info);
        if (linked)
            m_counters.files_written.fetch_add(1, std::memory_order_relaxed);
        return linked;
    }
    if (kind == ChangeKind::attrib && existing && existing->type == EntryType::file &&
        existing->size == source_info.size)
        return m_target.set_attributes(path, source_info);

    auto fd = m_source.open_file(path);
    if (!fd)
        return std::unexpected(fd.error());
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0)
        return base::fail_errno("stat " + shown(path));
    // The attributes of what is actually being read, not of the earlier listing.
    transport::SourceFile file{fd->get(), transport::entry_info_from_stat(st)};
    if (file.info.type != EntryType::file)
        return base::fail(base::ErrorKind::not_found, "no longer a regular file");
    if (m_databases && m_databases->is_database(path, fd->get())) {
        fd->reset(); // not needed: the helper opens the database itself
        const TimePoint started = Clock::now();
        auto snapshot = m_databases->mirror(path, file.info, existing);
        if (!snapshot)
            return std::unexpected(snapshot.error());
        const TimePoint landed = Clock::now();
        m_counters.files_written.fetch_add(1, std::memory_order_relaxed);
        m_counters.bytes_written.fetch_add(snapshot->bytes_written, std::memory_order_relaxed);
        m_logger.debug("snapshot of database {} in place ({} bytes written{}, {:.3f} s)",
                       shown(path), snapshot->bytes_written,
                       snapshot->delta ? ", blocks compared" : "",
                       std::chrono::duration<double>(landed - started).count());
        snapshot_landed = SnapshotLanded{path, started, landed};
        return {};
    }
    auto put = m_target.put_file(path, file, existing);
    if (!put)
        return std::unexpected(put.error());
    m_counters.files_written.fetch_add(1, std::memory_order_relaxed);
    m_counters.bytes_written.fetch_add(put->bytes_written, std::memory_order_relaxed);
    m_logger.debug("{} {} ({} bytes written{})", put->delta ? "updated" : "copied", shown(path),
                   put->bytes_written, put->delta ? ", blocks compared" : "");
    return {};
}

void TreeMirror::note_new_name(const std::string& path) {
    m_hard_links.note_new_name(path);
}

std::size_t TreeMirror::note_new_directory(const std::string& path, std::size_t budget) {
    return m_hard_links.note_new_directory(path, budget);
}

void TreeMirror::other_names_changed(std::uint64_t inode, BatchState& state) {
    auto others = m_hard_links.other_names_changed(inode);
    std::lock_guard lock(state.mutex);
    state.other_links.insert(state.other_links.end(), others.alive.begin(), others.alive.end());
    if (others.unknown_names)
        state.rescan_needed = true;
}

void TreeMirror::finish_directories(BatchState& state) {
    std::vector<std::string> directories(state.touched_directories.begin(),
                                         state.touched_directories.end());
    std::stable_sort(directories.begin(), directories.end(),
                     [](const std::string& a, const std::string& b) {
                         return base::depth_rel(a) > base::depth_rel(b);
                     });
    for (const auto& dir : directories) {
        if (state.holding.contains(dir))
            continue;
        auto source_info = m_source.stat(dir);
        if (!source_info || !*source_info || (*source_info)->type != EntryType::directory)
            continue;
        auto target_info = m_target.stat(dir);
        if (!target_info || !*target_info || (*target_info)->type != EntryType::directory)
            continue;
        if (!attributes_differ(**source_info, **target_info))
            continue;
        if (auto set = m_target.set_attributes(dir, **source_info); !set)
            m_logger.warning("{}", set.error().message);
    }
}

} // namespace fsmirror::engine
