#include "engine/startup_scan.hpp"

#include "base/rel_path.hpp"

#include <algorithm>

namespace fsmirror::engine {

using transport::EntryInfo;
using transport::EntryType;

// One directory being compared: counts its own comparison and each of its transfers, so its
// attributes are set (its mtime, which every file landing in it changes) after the last.
struct StartupScan::DirectoryWork {
    std::string path;
    bool set_attributes = false;
    // The scan made it, and no live batch ran since the scan last looked at the target: its
    // attributes are the scan's own, and differ from the source's (adding entries changed its
    // mtime), so finishing need not read them back. The generation is checked again then.
    bool made_by_scan = false;
    std::uint64_t generation = 0;
    std::atomic<std::uint32_t> outstanding{1}; // the comparison itself, then one per transfer
};

StartupScan::StartupScan(SourceTree& source, transport::Transport& target, TreeMirror& mirror,
                         WorkerPool& pool, base::Logger& logger, StartupScanOptions options)
    : m_source(source), m_target(target), m_mirror(mirror), m_pool(pool), m_logger(logger),
      m_options(options) {}

StartupScan::~StartupScan() {
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
        m_frontier.cancel();
    }
    m_changed.notify_all();
    for (auto& thread : m_threads)
        thread.join();
    // Transfers already handed to the pool refer to this scan.
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return m_transfers_in_flight.load() == 0; });
}

base::Status StartupScan::start() {
    auto root = m_source.stat("");
    if (!root)
        return std::unexpected(root.error());
    if (!*root || (*root)->type != EntryType::directory)
        return base::fail(base::ErrorKind::not_found,
                          "source directory " + m_source.root().string() + " is gone");
    if (auto made = m_target.make_directory("", **root); !made)
        return made;
    {
        std::lock_guard lock(m_mutex);
        // The root's attributes are always compared at the end: two stats, once.
        m_frontier.add(ScanItem{"", true, false, 0});
    }
    const unsigned threads = std::max(1u, m_options.threads);
    for (unsigned i = 0; i < threads; ++i)
        m_threads.emplace_back([this] { run_thread(); });
    return {};
}

void StartupScan::run_thread() {
    bool compared = false;
    for (;;) {
        ScanItem item;
        {
            // One lock a directory: finishing the last one and taking the next share it.
            std::unique_lock lock(m_mutex);
            if (compared) {
                m_frontier.finish();
                ++m_totals.directories;
                // Waiting threads re-check: new directories, idle for pause(), or all done.
                m_changed.notify_all();
                if (m_transfers_in_flight.load() == 0 && m_frontier.done())
                    notify_finished();
            }
            std::optional<ScanItem> next;
            m_changed.wait(lock, [&] {
                if (m_stopping || m_frontier.done())
                    return true;
                next = m_frontier.take();
                return next.has_value();
            });
            if (!next)
                return; // stopping, or nothing left anywhere
            item = std::move(*next);
        }
        compare(item);
        compared = true;
    }
}

void StartupScan::compare(const ScanItem& item) {
    auto source_entries = m_source.list_directory(item.path);
    if (!source_entries) {
        // Gone (removed, or renamed: the live batch that carries the event compares it at
        // its new name).
        if (source_entries.error().kind != base::ErrorKind::not_found)
            fail(item.path, ChangeKind::tree, source_entries.error());
        return;
    }
    std::vector<transport::DirEntry> target_entries;
    std::uint64_t generation = 0;
    {
        std::lock_guard lock(m_mutex);
        generation = m_frontier.generation();
    }
    // A directory this scan made holds nothing on the target, unless a live batch ran since.
    if (!item.made_by_scan || item.generation != generation) {
        auto listed = m_target.list_directory(item.path);
        if (!listed) {
            fail(item.path, ChangeKind::tree, listed.error());
            return;
        }
        target_entries = std::move(*listed);
    }
    auto plan = m_mirror.plan_directory_at(item.path, std::move(*source_entries),
                                           std::move(target_entries), QuickCheck::trusted);

    auto work = std::make_shared<DirectoryWork>();
    work->path = item.path;
    work->made_by_scan = item.made_by_scan && item.generation == generation;
    work->generation = generation;
    // A directory with target-only entries gets its attributes from the deletion batch after
    // the scan: when the guard holds those deletions, it keeps its target times.
    const bool deletions_follow = m_options.collect_extras && !plan.extras.empty();
    work->set_attributes = !deletions_follow && (item.attributes_differ || !plan.transfers.empty());
    std::vector<ScanItem> subdirectories;
    subdirectories.reserve(plan.directories.size());
    for (const auto& dir : plan.directories) {
        std::string child = base::join_rel(item.path, dir.name);
        if (dir.make) {
            if (auto made = m_target.make_directory(child, dir.source); !made) {
                fail(child, ChangeKind::tree, made.error());
                continue;
            }
            if (dir.absent)
                m_created.fetch_add(1);
            work->set_attributes = !deletions_follow;
        }
        subdirectories.push_back(
            ScanItem{std::move(child), dir.attributes_differ, dir.absent, generation});
    }
    for (const auto& attributes : plan.attributes) {
        std::string child = base::join_rel(item.path, attributes.name);
        if (auto set = m_target.set_attributes(child, attributes.source); !set)
            fail(child, ChangeKind::attrib, set.error());
    }
    for (const auto& leaf : plan.transfers) {
        if (leaf.source.type == EntryType::other) {
            m_logger.debug("skipping special file /{}", base::join_rel(item.path, leaf.name));
            continue;
        }
        send(base::join_rel(item.path, leaf.name), leaf, work);
    }
    {
        std::lock_guard lock(m_mutex);
        m_totals.target_entries += plan.target_entries;
        if (m_options.collect_extras)
            for (const auto& extra : plan.extras)
                m_extras.push_back(base::join_rel(item.path, extra.name));
        // Pushed in reverse, so that the stack hands them out in listing order.
        for (auto it = subdirectories.rbegin(); it != subdirectories.rend(); ++it)
            m_frontier.add(std::move(*it));
    }
    if (work->outstanding.fetch_sub(1) == 1)
        finish_directory(*work);
}

void StartupScan::send(const std::string& path, const PlannedLeaf& leaf,
                       const std::shared_ptr<DirectoryWork>& work) {
    work->outstanding.fetch_add(1);
    m_transfers_in_flight.fetch_add(1);
    m_pool.submit([this, path, leaf, work] {
        auto sent = m_mirror.send_leaf(path, leaf.source, leaf.kind, leaf.target);
        if (!sent.status) {
            if (sent.status.error().kind == base::ErrorKind::not_found) {
                // Changed while we looked: its event follows (a rename carries the change).
                std::lock_guard lock(m_mutex);
                m_report.vanished.push_back(Change{path, leaf.kind, 0});
            } else {
                fail(path, leaf.kind, sent.status.error());
            }
        }
        if (sent.snapshot) {
            std::lock_guard lock(m_mutex);
            m_report.snapshots.push_back(*sent.snapshot);
        }
        if (sent.status && sent.created)
            m_created.fetch_add(1);
        if (work->outstanding.fetch_sub(1) == 1)
            finish_directory(*work);
        // Under the lock, so that a pause() checking the count cannot miss the wake-up, and
        // the destructor (waiting for the count) cannot end the scan before this returns.
        std::lock_guard lock(m_mutex);
        m_transfers_in_flight.fetch_sub(1);
        m_changed.notify_all();
        if (m_transfers_in_flight.load() == 0 && m_frontier.done())
            notify_finished();
    });
}

void StartupScan::finish_directory(const DirectoryWork& work) {
    if (!work.set_attributes)
        return;
    // The source's attributes now, not the listing's: it may have changed since.
    auto source_info = m_source.stat(work.path);
    if (!source_info || !*source_info || (*source_info)->type != EntryType::directory)
        return; // gone: its own event deals with it
    bool untouched_since_made = false;
    if (work.made_by_scan) {
        std::lock_guard lock(m_mutex);
        untouched_since_made = m_frontier.generation() == work.generation;
    }
    if (untouched_since_made) {
        if (auto set = m_target.set_attributes(work.path, **source_info); !set)
            fail(work.path, ChangeKind::attrib, set.error());
        return;
    }
    auto target_info = m_target.stat(work.path);
    if (target_info && *target_info && (*target_info)->type == EntryType::directory &&
        !m_mirror.attributes_differ(**source_info, **target_info))
        return;
    if (auto set = m_target.set_attributes(work.path, **source_info); !set)
        fail(work.path, ChangeKind::attrib, set.error());
}

void StartupScan::fail(const std::string& path, ChangeKind kind, base::Error error) {
    std::lock_guard lock(m_mutex);
    m_report.failed.push_back(FailedChange{Change{path, kind, 0}, std::move(error)});
}

void StartupScan::pause() {
    std::unique_lock lock(m_mutex);
    m_frontier.pause();
    m_changed.wait(lock, [this] { return m_frontier.idle() && m_transfers_in_flight.load() == 0; });
}

void StartupScan::resume() {
    {
        std::lock_guard lock(m_mutex);
        m_frontier.resume();
    }
    m_changed.notify_all();
}

void StartupScan::cancel() {
    {
        std::lock_guard lock(m_mutex);
        m_frontier.cancel();
    }
    m_changed.notify_all();
}

bool StartupScan::finished() {
    std::lock_guard lock(m_mutex);
    return m_frontier.done() && m_transfers_in_flight.load() == 0;
}

void StartupScan::wait() {
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [this] { return m_frontier.done() && m_transfers_in_flight.load() == 0; });
}

ScanReport StartupScan::take_report() {
    std::lock_guard lock(m_mutex);
    return std::exchange(m_report, ScanReport{});
}

std::vector<std::string> StartupScan::take_extras() {
    std::lock_guard lock(m_mutex);
    auto extras = std::exchange(m_extras, {});
    std::sort(extras.begin(), extras.end());
    return extras;
}

ScanTotals StartupScan::totals() {
    std::lock_guard lock(m_mutex);
    ScanTotals totals = m_totals;
    totals.created = m_created.load();
    totals.peak_waiting = m_frontier.peak_waiting();
    return totals;
}

void StartupScan::notify_finished() {
    if (m_options.on_finished)
        m_options.on_finished();
}

} // namespace fsmirror::engine
