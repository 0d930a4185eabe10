#include "engine/pending_changes.hpp"

#include "base/rel_path.hpp"

#include <algorithm>

namespace fsmirror::engine {

const char* to_string(ChangeKind kind) {
    switch (kind) {
    case ChangeKind::create:
        return "Create";
    case ChangeKind::modify:
        return "Modify";
    case ChangeKind::attrib:
        return "Attrib";
    case ChangeKind::remove:
        return "Delete";
    case ChangeKind::tree:
        return "Full";
    }
    return "Modify";
}

std::optional<ChangeKind> collapse(ChangeKind earlier, ChangeKind later, bool earlier_was_create) {
    if (later == ChangeKind::remove) {
        // Created and gone within one window: the target never had it.
        if (earlier_was_create)
            return std::nullopt;
        return ChangeKind::remove;
    }
    if (earlier == ChangeKind::tree || later == ChangeKind::tree)
        return ChangeKind::tree;
    switch (earlier) {
    case ChangeKind::create:
        return ChangeKind::create; // create absorbs modify and attrib
    case ChangeKind::remove:
        return ChangeKind::modify; // replaced: the target's copy must be rewritten
    case ChangeKind::modify:
        return ChangeKind::modify;
    case ChangeKind::attrib:
        return later == ChangeKind::attrib ? ChangeKind::attrib : ChangeKind::modify;
    case ChangeKind::tree:
        return ChangeKind::tree;
    }
    return later;
}

PendingChanges::PendingChanges(PendingChangesOptions options) : m_options(options) {}

void PendingChanges::add_event(const FsEvent& event, TimePoint now) {
    switch (event.kind) {
    case EventKind::created:
        // A new directory may have filled before its watch was set: compare all of it.
        merge(event.path, Entry{event.is_directory ? ChangeKind::tree : ChangeKind::create, true,
                                now, now, 0, event.write_in_progress});
        note_directory_changed(base::parent_rel(event.path), now);
        return;
    case EventKind::modified:
        merge(event.path, Entry{ChangeKind::modify, false, now, now, 0, event.write_in_progress});
        return;
    case EventKind::attrib:
        add_change(event.path, ChangeKind::attrib, now);
        return;
    case EventKind::removed:
        add_change(event.path, ChangeKind::remove, now);
        note_directory_changed(base::parent_rel(event.path), now);
        return;
    case EventKind::moved:
        add_move(event.from_path, event.path, now);
        note_directory_changed(base::parent_rel(event.from_path), now);
        note_directory_changed(base::parent_rel(event.path), now);
        return;
    case EventKind::rescan:
        add_change(event.path, ChangeKind::tree, now);
        return;
    case EventKind::root_lost:
        return; // the session handles this; nothing to queue
    }
}

void PendingChanges::note_directory_changed(const std::string& directory, TimePoint now) {
    // Its mtime changed on the source even when the entry inside cancels out (a temp file
    // created and removed), so its attributes are due in any case.
    merge(directory, Entry{ChangeKind::attrib, false, now, now, 0});
}

bool PendingChanges::covered_by_new_directory(const std::string& path) const {
    if (path.empty())
        return false;
    std::string ancestor = base::parent_rel(path);
    for (;;) {
        auto found = m_entries.find(ancestor);
        if (found != m_entries.end() && found->second.kind == ChangeKind::tree &&
            found->second.first_was_create)
            return true;
        if (ancestor.empty())
            return false;
        ancestor = base::parent_rel(ancestor);
    }
}

void PendingChanges::forget_new_directories_above(const std::string& path) {
    std::string ancestor = path;
    while (!ancestor.empty()) {
        ancestor = base::parent_rel(ancestor);
        auto found = m_entries.find(ancestor);
        // `folded_changes` stays: the changes it took in are gone from the queue.
        if (found != m_entries.end() && found->second.kind == ChangeKind::tree)
            found->second.first_was_create = false;
    }
}

void PendingChanges::keep_below_as_seen(const std::string& path) {
    const std::string prefix = path + "/";
    for (auto it = m_entries.lower_bound(prefix);
         it != m_entries.end() && it->first.starts_with(prefix); ++it)
        it->second.first_was_create = false;
}

void PendingChanges::erase_below(const std::string& path) {
    if (path.empty()) {
        auto root = m_entries.find("");
        std::optional<Entry> kept;
        if (root != m_entries.end())
            kept = root->second;
        m_entries.clear();
        if (kept)
            m_entries.emplace("", *kept);
        return;
    }
    std::string prefix = path + "/";
    auto first = m_entries.lower_bound(prefix);
    auto last = first;
    while (last != m_entries.end() && last->first.starts_with(prefix))
        ++last;
    m_entries.erase(first, last);
}

// Only a directory new since the last batch swallows the changes below it: the target has
// none of it, so all of it is copied whole. Below any other directory due for a comparison
// the changes stay, because a comparison skips files whose size and mtime look unchanged and
// an explicit change must never be skipped.
void PendingChanges::merge(const std::string& path, Entry entry) {
    if (covered_by_new_directory(path))
        return;
    auto found = m_entries.find(path);
    if (found == m_entries.end()) {
        if (entry.kind == ChangeKind::tree && entry.first_was_create) {
            erase_below(path);
            entry.folded_changes = true;
        }
        m_entries.emplace(path, entry);
        return;
    }
    Entry& existing = found->second;
    if (entry.kind == ChangeKind::remove)
        note_lost_content(path, existing);
    auto kind = collapse(existing.kind, entry.kind, existing.first_was_create);
    if (!kind) {
        // Created and removed again: its queued children go with it. The target may still
        // hold it, if a comparison (its directory's, a rescan) copied it before the creation
        // was read: a removal that looks first stays.
        erase_below(path);
        existing = Entry{ChangeKind::remove, false, std::min(existing.first_seen, entry.first_seen),
                         std::min(existing.ready_at, entry.ready_at), 0};
        existing.only_if_on_target = true;
        return;
    }
    existing.only_if_on_target = false;
    // Only a directory's own creation can follow the attribute note its children leave.
    if (existing.kind == ChangeKind::attrib && entry.first_was_create)
        existing.first_was_create = true;
    existing.kind = *kind;
    existing.first_seen = std::min(existing.first_seen, entry.first_seen);
    // A fresh event makes a change that waits for a retry eligible again.
    existing.ready_at = std::min(existing.ready_at, entry.ready_at);
    if (entry.attempts == 0)
        existing.attempts = 0;
    existing.write_in_progress = entry.write_in_progress; // a close ends the write
    existing.folded_changes = existing.folded_changes || entry.folded_changes;
    if (*kind == ChangeKind::tree && existing.first_was_create) {
        erase_below(path);
        existing.folded_changes = true;
    }
}

void PendingChanges::note_lost_content(const std::string& path, const Entry& entry) {
    // Attributes too: a chmod through one name changes every name of the inode.
    if (entry.kind == ChangeKind::create || entry.kind == ChangeKind::modify ||
        entry.kind == ChangeKind::attrib)
        m_lost_content.insert(path);
}

void PendingChanges::add_vanished(const Change& change, TimePoint now) {
    merge(change.path, Entry{change.kind, false, now, now, change.attempts});
}

void PendingChanges::add_change(const std::string& path, ChangeKind kind, TimePoint now) {
    merge(path, Entry{kind, kind == ChangeKind::create, now, now, 0});
}

void PendingChanges::add_retry(const Change& change, TimePoint retry_at) {
    // Due at `retry_at` itself, not a delay later.
    merge(change.path,
          Entry{change.kind, false, retry_at - m_options.delay, retry_at, change.attempts});
}

void PendingChanges::add_move(const std::string& from, const std::string& to, TimePoint now) {
    // A queued change at the destination describes the entry the move replaced.
    if (auto replaced = m_entries.find(to); replaced != m_entries.end()) {
        note_lost_content(to, replaced->second);
        m_entries.erase(replaced);
    }
    // Changes below it stay. With inotify they describe what the replaced directory held (it
    // was empty when replaced, so mostly removals): harmless to look at again. With fanotify
    // an event's directory is resolved when the event is read, so a write read before this
    // move may already be named under the new name: dropping it lost a same-size rewrite.
    // None of them counts as a creation any more: a later removal must delete there.
    keep_below_as_seen(to);
    // Lost content named under the old name is now named under the new one.
    std::vector<std::string> lost_moved;
    for (auto it = m_lost_content.begin(); it != m_lost_content.end();) {
        if (*it == from || it->starts_with(from + "/")) {
            lost_moved.push_back(to + it->substr(from.size()));
            it = m_lost_content.erase(it);
        } else {
            ++it;
        }
    }
    m_lost_content.insert(lost_moved.begin(), lost_moved.end());

    // Queued changes under the old name now describe paths under the new name.
    std::vector<std::pair<std::string, Entry>> moved;
    std::optional<Entry> moved_self;
    if (auto at_from = m_entries.find(from); at_from != m_entries.end()) {
        moved_self = at_from->second;
        m_entries.erase(at_from);
    }
    std::string prefix = from + "/";
    for (auto it = m_entries.lower_bound(prefix);
         it != m_entries.end() && it->first.starts_with(prefix);) {
        moved.emplace_back(to + it->first.substr(from.size()), it->second);
        it = m_entries.erase(it);
    }

    bool from_is_new = moved_self && moved_self->first_was_create;
    bool from_covered = covered_by_new_directory(from);
    bool to_covered = covered_by_new_directory(to);
    if (from_is_new || from_covered) {
        // The target never had the old name: the move is a creation under the new one.
        Entry created = moved_self.value_or(Entry{ChangeKind::tree, false, now, now, 0});
        if (created.kind != ChangeKind::create)
            created.kind = ChangeKind::tree;
        // It may have replaced an entry the target holds under the new name: a later removal
        // must still delete there, not cancel out.
        created.first_was_create = false;
        // The changes below the old name were taken in by the new directory's comparison.
        if (created.kind == ChangeKind::tree)
            created.folded_changes = true;
        if (!to_covered)
            merge(to, created);
        // Unless a comparison that ran before the creation was read already copied it there.
        if (from_is_new && !from_covered)
            merge(from, Entry{ChangeKind::remove, false, now, now, 0});
    } else {
        m_moves.push_back(PendingMove{Move{from, to}, now});
        // The rename puts existing data below directories that were new: the target will
        // hold more than nothing there, so their comparison no longer replaces the changes
        // below them.
        if (to_covered)
            forget_new_directories_above(to);
        if (moved_self && moved_self->kind != ChangeKind::remove)
            merge(to, *moved_self);
    }
    for (auto& [path, entry] : moved)
        merge(path, entry);
}

TimePoint PendingChanges::due_at(const Entry& entry) const {
    return std::max(entry.first_seen + m_options.delay, entry.ready_at);
}

bool PendingChanges::is_due(TimePoint now) const {
    if (size() >= m_options.max_delays)
        return true;
    auto next = next_due();
    return next && *next <= now;
}

std::optional<TimePoint> PendingChanges::next_due() const {
    std::optional<TimePoint> earliest;
    for (const auto& move : m_moves) {
        TimePoint due = move.seen + m_options.delay;
        if (!earliest || due < *earliest)
            earliest = due;
    }
    std::optional<TimePoint> writes_end;
    for (const auto& [path, entry] : m_entries) {
        TimePoint due = due_at(entry);
        if (!earliest || due < *earliest)
            earliest = due;
        if (entry.write_in_progress) {
            TimePoint grace_end = entry.first_seen + k_write_close_grace;
            if (!writes_end || grace_end > *writes_end)
                writes_end = grace_end;
        }
    }
    if (!earliest && !m_lost_content.empty())
        earliest = TimePoint{}; // alone only when the removals that lost them cancelled out
    if (earliest && writes_end)
        return std::max(*earliest, std::min(*writes_end, *earliest + k_write_close_grace));
    return earliest;
}

Batch PendingChanges::take(TimePoint now) {
    Batch batch;
    batch.moves.reserve(m_moves.size());
    for (auto& move : m_moves)
        batch.moves.push_back(std::move(move.move));
    m_moves.clear();
    for (auto it = m_entries.begin(); it != m_entries.end();) {
        if (it->second.ready_at > now) {
            ++it;
            continue;
        }
        const bool new_directory = it->second.kind == ChangeKind::tree &&
                                   (it->second.first_was_create || it->second.folded_changes);
        batch.changes.push_back(Change{it->first, it->second.kind, it->second.attempts,
                                       new_directory, it->second.only_if_on_target});
        it = m_entries.erase(it);
    }
    batch.lost_content.assign(m_lost_content.begin(), m_lost_content.end());
    m_lost_content.clear();
    return batch;
}

std::vector<PendingChanges::Item> PendingChanges::items(TimePoint now) const {
    std::vector<Item> result;
    result.reserve(size());
    for (const auto& move : m_moves)
        result.push_back(Item{move.move.to, ChangeKind::modify, move.seen, false, move.move.from});
    for (const auto& [path, entry] : m_entries)
        result.push_back(Item{path, entry.kind, entry.first_seen, entry.ready_at > now, {}});
    return result;
}

} // namespace fsmirror::engine
