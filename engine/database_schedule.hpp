#pragma once
// When each SQLite database of a sync is snapshotted again. A snapshot is aimed to *land* on
// the target `delay` after the database's oldest unmirrored change, and at most once per
// `interval` for a database that changes all the time (every commit touches its -wal), always
// with its newest state. Taking and sending a snapshot takes time (a helper process, SQLite's
// backup API, the copy), so it starts that much earlier: by the longest of the database's last
// few snapshot durations, never by more than half the delay. Counting from the start instead
// put the recovery point of a busy database at delay + one snapshot's time. Also keeps what
// the recovery point is: how old the oldest change not yet on the target is.
// A plain single-threaded structure that never reads the clock: callers pass `now`.

#include "engine/pending_changes.hpp"

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::engine {

struct DatabaseScheduleOptions {
    std::chrono::nanoseconds delay{std::chrono::seconds(1)}; // the sync's batching delay
    // Between two snapshots of one database that keeps changing (landing to landing, about).
    std::chrono::nanoseconds interval{std::chrono::seconds(1)};
};

class DatabaseSchedule {
public:
    explicit DatabaseSchedule(DatabaseScheduleOptions options);

    // Remembers that `database` is a database, so events on it are routed here.
    void learn(const std::string& database);

    // True when `database` was learned (and not forgotten since).
    bool is_known(const std::string& database) const;

    // Records a change to `database` seen at `now` (learning it if needed).
    void note_change(const std::string& database, TimePoint now);

    // Forgets `path` and every database below it (removed, or replaced by something else).
    void forget(const std::string& path);

    // Carries what is known about `from` (and below it) over to `to`, after a rename.
    void move(const std::string& from, const std::string& to);

    // Returns when the next snapshot becomes due, nullopt when no database has changes waiting.
    std::optional<TimePoint> next_due() const;

    // True when some snapshot is due at `now`.
    bool is_due(TimePoint now) const;

    struct Due {
        std::string database;
        unsigned attempts; // failed attempts since the last snapshot that landed
    };

    // Returns the databases whose snapshot is due at `now`, sorted. They are in flight until
    // landed(), failed() or finish_batch().
    std::vector<Due> take_due(TimePoint now);

    // Records that a snapshot of `database` that started at `started` landed on the target at
    // `landed` (learning the database if needed); its duration moves the next ones earlier. Returns
    // the recovery point it achieved, from the oldest change it carried to `landed`; nullopt when
    // no change was waiting for it (the initial sync, a rescan).
    std::optional<std::chrono::nanoseconds> landed(const std::string& database, TimePoint started,
                                                   TimePoint landed);

    // Records that a snapshot of `database` failed at `now` for the `attempts`th time: its
    // changes wait again, and it is not tried before `retry_at`.
    void failed(const std::string& database, TimePoint now, TimePoint retry_at, unsigned attempts);

    // Ends a batch: databases taken but neither landed nor failed (no longer a database, or
    // gone) are dropped from flight; their changes were handled as ordinary files.
    void finish_batch();

    // Returns the time of the oldest change not yet on the target (waiting or in flight),
    // nullopt when every database is mirrored.
    std::optional<TimePoint> oldest_unmirrored() const;

    // Returns how many databases have changes not yet on the target.
    std::size_t unmirrored_count() const;

private:
    // How many recent snapshot durations the lead is taken from: enough to ride out one slow
    // snapshot on a loaded machine, few enough to follow a database that grew.
    static constexpr std::size_t k_durations_kept = 4;

    struct Entry {
        std::optional<TimePoint> waiting_since;   // oldest change not yet in a snapshot
        std::optional<TimePoint> in_flight_since; // the same, for the snapshot running now
        std::optional<TimePoint> last_started;    // of the last snapshot attempt
        TimePoint not_before{};                   // after a failure: the backoff
        unsigned attempts = 0;                    // failures since the last landing
        // Start to landing of the last snapshots that landed (zero: none yet).
        std::array<std::chrono::nanoseconds, k_durations_kept> durations{};
        std::size_t next_duration = 0; // where the next duration goes in `durations`
    };

    std::optional<TimePoint> due_at(const Entry& entry) const;

    // How much earlier than its landing time a snapshot of `entry` starts.
    std::chrono::nanoseconds lead(const Entry& entry) const;

    DatabaseScheduleOptions m_options;
    std::map<std::string, Entry> m_entries;
};

} // namespace fsmirror::engine
