#pragma once
// The directories a startup scan has still to compare, and whether it may take one now. A
// stack, so the walk goes depth first and what waits is bounded by the tree's depth times its
// widest directory, never by its size. Pausing stops new directories from being handed out
// (the session runs a batch of live changes while nothing of the scan is in flight); the
// directories in progress are counted so the caller can wait for them. A plain single-threaded
// structure: StartupScan holds the lock.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::engine {

struct ScanItem {
    std::string path; // relative, "" for the root
    // Its attributes differed when its parent was compared, so they are set once its own
    // content is done (even when nothing in it changes).
    bool attributes_differ = false;
    // The scan made it on the target, which therefore held nothing there, unless a batch of
    // live changes ran since (`generation` tells).
    bool made_by_scan = false;
    std::uint64_t generation = 0;
};

class ScanFrontier {
public:
    // Queues `item` to be compared.
    void add(ScanItem item);

    // Returns the next directory to compare and counts it as in progress; nullopt when paused
    // or when nothing waits.
    std::optional<ScanItem> take();

    // Counts one directory handed out by take() as done.
    void finish();

    // Stops take() from handing out directories, until resume().
    void pause() { m_paused = true; }
    // Counts a batch of live changes that ran while paused (see ScanItem::generation).
    void resume();
    bool paused() const { return m_paused; }

    // Ends the scan: what waits is dropped and nothing more is handed out.
    void cancel();

    // True while no directory is in progress.
    bool idle() const { return m_in_progress == 0; }
    // True when nothing waits and nothing is in progress.
    bool done() const { return m_waiting.empty() && m_in_progress == 0; }

    std::uint64_t generation() const { return m_generation; }
    std::size_t waiting() const { return m_waiting.size(); }
    // The most directories that waited at once: the scan's memory, for the log and the tests.
    std::size_t peak_waiting() const { return m_peak_waiting; }

private:
    std::vector<ScanItem> m_waiting;
    std::size_t m_in_progress = 0;
    std::size_t m_peak_waiting = 0;
    std::uint64_t m_generation = 0;
    bool m_paused = false;
    bool m_cancelled = false;
};

} // namespace fsmirror::engine
