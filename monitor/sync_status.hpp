#pragma once
// What one sync tells the monitor about itself: a plain, copyable snapshot, and the interface
// the engine publishes it through. The engine fills these structs; the monitor never reaches
// into the engine.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::monitor {

using WallClock = std::chrono::system_clock;
using WallTime = WallClock::time_point;

// Where a sync is in its life, as shown in status output.
enum class SyncState : std::uint8_t {
    starting,         // watches being set
    initial_sync,     // bringing the target up to date
    watching,         // idle, waiting for changes
    syncing,          // running a batch
    deletions_paused, // the mass-delete guard holds deletions; everything else is mirrored
    source_lost,      // the source vanished or was unmounted; nothing is deleted meanwhile
    target_lost,      // the target cannot be reached; changes are held
    target_refused,   // the target's pre-flight checks refuse it; changes are held
    stopped,          // the session has ended
};

// Returns the state's name ("initial_sync"); parse_sync_state is its inverse (nullopt for an
// unknown name).
const char* to_string(SyncState state);
std::optional<SyncState> parse_sync_state(std::string_view name);

// lsyncd's per-delay status column.
enum class ItemStatus : std::uint8_t {
    wait,   // queued, waiting for the batching delay
    active, // in the batch being applied now
    block,  // held back: waiting for a retry after a failure
};

const char* to_string(ItemStatus status);
std::optional<ItemStatus> parse_item_status(std::string_view name);

// One queued change, in lsyncd's terms.
struct BacklogItem {
    ItemStatus status = ItemStatus::wait;
    std::string type;    // Create, Modify, Attrib, Delete, Move, Full, Init
    std::string path;    // relative to the source, "" for the root
    std::string to_path; // Move only: the destination
    bool is_directory = false;
    WallTime since{}; // when it was first seen
};

struct SyncCounters {
    std::uint64_t files_written = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t entries_removed = 0;
    std::uint64_t renames = 0;
    std::uint64_t failures = 0;
};

// WAL-aware SQLite snapshots of a sync (when it has them enabled).
struct DatabaseFigures {
    std::uint64_t snapshots = 0;         // landed on the target
    std::uint64_t snapshot_failures = 0; // attempts that failed (retried)
    std::uint64_t databases_unmirrored = 0;
    std::uint64_t unmirrored_age_ms = 0; // oldest database change not yet on the target
    std::uint64_t last_recovery_point_ms = 0;
    std::uint64_t max_recovery_point_ms = 0;
};

// A sync as the monitor sees it. Times are wall-clock so that they can be written to files.
struct SyncStatus {
    std::string name;
    std::string source; // absolute, without a trailing slash
    std::string target; // as the transport describes it
    SyncState state = SyncState::starting;
    bool initial_sync_done = false;
    std::size_t backlog = 0;                // every queued change (items may hold fewer)
    std::size_t retrying = 0;               // changes waiting for a retry after a failure
    std::size_t held_deletions = 0;         // deletions the mass-delete guard holds
    std::string paused_reason;              // why the guard holds them ("" when it does not)
    std::optional<WallTime> oldest_pending; // first-seen time of the oldest queued change
    std::vector<BacklogItem> items;         // the queue, at most k_max_reported_items entries
    std::size_t watch_count = 0;
    // Relative to the source, "" is the root; shared because it can be long and is copied on
    // every publish. Null when the source is lost.
    std::shared_ptr<const std::vector<std::string>> watched_directories;
    SyncCounters counters;
    std::optional<DatabaseFigures> databases; // nullopt: SQLite snapshots are off
    std::string last_error;
    std::optional<WallTime> last_error_time;
    std::optional<WallTime> last_success_time; // the last batch that ended without a failure
    WallTime started{};
    WallTime updated{}; // when the session published this snapshot
};

// Beyond this many queued changes only the count is reported (a status file of a million
// lines helps nobody).
inline constexpr std::size_t k_max_reported_items = 10'000;

// Receives snapshots from running syncs. Implementations must be thread-safe: every sync
// publishes from its own thread.
class SyncReporter {
public:
    virtual ~SyncReporter() = default;

    // Replaces what is known about the sync named status.name. `significant` marks a change
    // worth an immediate health check (a new error, a lost source or target, initial sync
    // done).
    enum class Urgency { routine, significant };
    virtual void publish(SyncStatus status, Urgency urgency) = 0;
};

} // namespace fsmirror::monitor
