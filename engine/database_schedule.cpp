#include "engine/database_schedule.hpp"

#include <algorithm>

namespace fsmirror::engine {

namespace {

bool is_same_or_below(const std::string& path, const std::string& ancestor) {
    if (ancestor.empty())
        return true;
    return path == ancestor || (path.size() > ancestor.size() && path.starts_with(ancestor) &&
                                path[ancestor.size()] == '/');
}

std::optional<TimePoint> earliest(std::optional<TimePoint> a, std::optional<TimePoint> b) {
    if (!a)
        return b;
    if (!b)
        return a;
    return std::min(*a, *b);
}

} // namespace

DatabaseSchedule::DatabaseSchedule(DatabaseScheduleOptions options) : m_options(options) {}

void DatabaseSchedule::learn(const std::string& database) {
    m_entries.try_emplace(database);
}

bool DatabaseSchedule::is_known(const std::string& database) const {
    return m_entries.contains(database);
}

void DatabaseSchedule::note_change(const std::string& database, TimePoint now) {
    Entry& entry = m_entries[database];
    if (!entry.waiting_since)
        entry.waiting_since = now;
}

void DatabaseSchedule::forget(const std::string& path) {
    std::erase_if(m_entries, [&](const auto& item) { return is_same_or_below(item.first, path); });
}

void DatabaseSchedule::move(const std::string& from, const std::string& to) {
    if (from == to)
        return;
    std::vector<std::pair<std::string, Entry>> moved;
    for (auto it = m_entries.begin(); it != m_entries.end();) {
        if (is_same_or_below(it->first, from)) {
            moved.emplace_back(to + it->first.substr(from.size()), it->second);
            it = m_entries.erase(it);
        } else {
            ++it;
        }
    }
    forget(to); // whatever was there has been replaced
    for (auto& [path, entry] : moved)
        m_entries.insert_or_assign(std::move(path), entry);
}

std::chrono::nanoseconds DatabaseSchedule::lead(const Entry& entry) const {
    // Capped at half the delay: a snapshot that suddenly takes longer than the delay must not
    // turn into snapshots back to back.
    const auto longest = *std::max_element(entry.durations.begin(), entry.durations.end());
    return std::min(longest, m_options.delay / 2);
}

std::optional<TimePoint> DatabaseSchedule::due_at(const Entry& entry) const {
    if (!entry.waiting_since)
        return std::nullopt;
    // Both bounds are about landings: a change lands `delay` after it was seen, and
    // snapshots land about `interval` apart, since each started `lead` before its landing.
    const auto early = lead(entry);
    TimePoint due = *entry.waiting_since + m_options.delay - early;
    if (entry.last_started)
        due = std::max(due, *entry.last_started + m_options.interval - early);
    return std::max(due, entry.not_before);
}

std::optional<TimePoint> DatabaseSchedule::next_due() const {
    std::optional<TimePoint> next;
    for (const auto& [path, entry] : m_entries)
        next = earliest(next, due_at(entry));
    return next;
}

bool DatabaseSchedule::is_due(TimePoint now) const {
    auto next = next_due();
    return next && *next <= now;
}

std::vector<DatabaseSchedule::Due> DatabaseSchedule::take_due(TimePoint now) {
    std::vector<Due> due;
    for (auto& [path, entry] : m_entries) {
        auto at = due_at(entry);
        if (!at || *at > now)
            continue;
        entry.in_flight_since = earliest(entry.in_flight_since, entry.waiting_since);
        entry.waiting_since.reset();
        entry.last_started = now;
        due.push_back(Due{path, entry.attempts});
    }
    return due;
}

std::optional<std::chrono::nanoseconds>
DatabaseSchedule::landed(const std::string& database, TimePoint started, TimePoint landed) {
    Entry& entry = m_entries[database];
    entry.last_started = started;
    entry.durations[entry.next_duration] = std::max(std::chrono::nanoseconds(0), landed - started);
    entry.next_duration = (entry.next_duration + 1) % k_durations_kept;
    entry.not_before = {};
    entry.attempts = 0;
    std::optional<TimePoint> carried = entry.in_flight_since;
    entry.in_flight_since.reset();
    // Changes seen before the snapshot started are in it.
    if (entry.waiting_since && *entry.waiting_since <= started) {
        carried = earliest(carried, entry.waiting_since);
        entry.waiting_since.reset();
    }
    if (!carried)
        return std::nullopt;
    return std::max(std::chrono::nanoseconds(0), landed - *carried);
}

void DatabaseSchedule::failed(const std::string& database, TimePoint now, TimePoint retry_at,
                              unsigned attempts) {
    Entry& entry = m_entries[database];
    // A failure with nothing waiting (the initial sync) still has a change to carry: the
    // target may hold an older state than the source.
    entry.waiting_since =
        earliest(earliest(entry.waiting_since, entry.in_flight_since), std::optional(now));
    entry.in_flight_since.reset();
    entry.last_started = now;
    entry.not_before = retry_at;
    entry.attempts = attempts;
}

void DatabaseSchedule::finish_batch() {
    for (auto& [path, entry] : m_entries)
        entry.in_flight_since.reset();
}

std::optional<TimePoint> DatabaseSchedule::oldest_unmirrored() const {
    std::optional<TimePoint> oldest;
    for (const auto& [path, entry] : m_entries)
        oldest = earliest(oldest, earliest(entry.waiting_since, entry.in_flight_since));
    return oldest;
}

std::size_t DatabaseSchedule::unmirrored_count() const {
    return static_cast<std::size_t>(
        std::count_if(m_entries.begin(), m_entries.end(), [](const auto& item) {
            return item.second.waiting_since || item.second.in_flight_since;
        }));
}

} // namespace fsmirror::engine
