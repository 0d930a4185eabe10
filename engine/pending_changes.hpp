#pragma once
// The batching queue: collects events, collapses them per path, and hands out a batch when the
// oldest change has waited `delay` (measured from its first event, as lsyncd does, so a file
// that never stops changing is still mirrored) or when too many paths are queued.
// A plain single-threaded structure that never reads the clock: callers pass `now`.
//
// A file whose latest event is a write without its close (FsEvent::write_in_progress) holds the
// batch for up to k_write_close_grace past its due time, so that a short delay (0 included)
// copies a freshly written file once, after its close, and not once per event. The hold is
// bounded: it never moves the batch more than k_write_close_grace past the oldest change's due
// time, however many files are being written.

#include "engine/event_source.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace fsmirror::engine {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// What is known to have happened to a path since the last batch, after collapsing.
enum class ChangeKind : std::uint8_t {
    create, // new since the last batch (the target does not have it)
    modify, // content (or type) changed
    attrib, // only attributes changed
    remove, // gone
    tree,   // compare the whole subtree (a new or moved-in directory, lost events)
};

const char* to_string(ChangeKind kind);

// Returns the collapsed kind of `earlier` followed by `later`, or nullopt when they cancel
// out (a path created and removed within one batch). `earlier_was_create` says whether the
// path's first change in this window was its creation.
std::optional<ChangeKind> collapse(ChangeKind earlier, ChangeKind later, bool earlier_was_create);

struct Move {
    std::string from;
    std::string to;
};

struct Change {
    std::string path;
    ChangeKind kind;
    unsigned attempts = 0; // failed attempts so far (0 for a fresh change)
    // A directory created since the last batch: the changes below it were folded into its
    // comparison instead of being queued one by one, so the comparison trusts no size and
    // mtime below it. Stays set when a rename later put existing data below the directory.
    bool new_directory = false;
    // A removal of an entry created and removed within one window: the target holds it only
    // if a comparison copied it before its creation was read, so it is deleted only if there.
    bool only_if_on_target = false;
};

// Moves run first, in the order they happened; changes are sorted by path, so a directory
// comes before its children.
struct Batch {
    std::vector<Move> moves;
    std::vector<Change> changes;
    // Files whose content (or mode) changed and whose name then went (removed, or replaced by a
    // move) before the change could be applied, as named after the batch's moves. When such a file
    // was one name of several hard links, its other names hold the new content but had no
    // event of their own.
    std::vector<std::string> lost_content;
    bool empty() const { return moves.empty() && changes.empty() && lost_content.empty(); }
};

// How long past its due time a batch waits for the close of a file still being written.
inline constexpr std::chrono::milliseconds k_write_close_grace{50};

struct PendingChangesOptions {
    std::chrono::nanoseconds delay{std::chrono::seconds(1)};
    std::size_t max_delays = 1000;
};

class PendingChanges {
public:
    explicit PendingChanges(PendingChangesOptions options);

    // Records one event seen at `now`.
    void add_event(const FsEvent& event, TimePoint now);

    // Records a change to `path` seen at `now`.
    void add_change(const std::string& path, ChangeKind kind, TimePoint now);

    // Puts a failed change back, to be tried no earlier than `retry_at`. A newer event for the
    // same path makes it eligible again at once.
    void add_retry(const Change& change, TimePoint retry_at);

    // Records a rename within the tree.
    void add_move(const std::string& from, const std::string& to, TimePoint now);

    // Puts back a change whose path was gone from the source when its batch ran: the rename
    // that explains it is usually still to be read, and re-keys it when it is. `change.attempts`
    // counts these rounds.
    void add_vanished(const Change& change, TimePoint now);

    // True when a batch should be taken now.
    bool is_due(TimePoint now) const;

    // Returns when the next batch becomes due, nullopt when nothing is queued.
    std::optional<TimePoint> next_due() const;

    // Removes and returns everything that may run at `now`: all moves, and every change not
    // waiting for a retry time.
    Batch take(TimePoint now);

    std::size_t size() const { return m_entries.size() + m_moves.size(); }
    bool empty() const { return m_entries.empty() && m_moves.empty() && m_lost_content.empty(); }

    // The queued changes (path, kind, since), oldest first is not guaranteed; for status.
    // Moves come first, in order, with `from_path` set and `path` the destination.
    struct Item {
        std::string path;
        ChangeKind kind;
        TimePoint since;
        bool waiting_for_retry;
        std::string from_path; // moves only
    };
    std::vector<Item> items(TimePoint now) const;

private:
    struct Entry {
        ChangeKind kind;
        bool first_was_create;
        TimePoint first_seen;
        TimePoint ready_at; // may run from then on (later than first_seen only for retries)
        unsigned attempts = 0;
        bool write_in_progress = false; // the latest event was a write without its close
        // A new directory's comparison took the changes below it in (they were dropped, not
        // queued): it must not trust size and mtime there, even once the directory counts as
        // new no more (a rename brought existing data below it).
        bool folded_changes = false;
        bool only_if_on_target = false; // see Change
    };
    struct PendingMove {
        Move move;
        TimePoint seen;
    };

    void merge(const std::string& path, Entry entry);
    // Notes that the content change queued as `entry` for `path` is being dropped because the
    // file went away.
    void note_lost_content(const std::string& path, const Entry& entry);
    void note_directory_changed(const std::string& directory, TimePoint now);
    bool covered_by_new_directory(const std::string& path) const;
    void erase_below(const std::string& path);
    // Marks the entries below `path` as not created in this window.
    void keep_below_as_seen(const std::string& path);
    void forget_new_directories_above(const std::string& path);
    TimePoint due_at(const Entry& entry) const;

    PendingChangesOptions m_options;
    std::map<std::string, Entry> m_entries;
    std::vector<PendingMove> m_moves;
    std::set<std::string> m_lost_content;
};

} // namespace fsmirror::engine
