#pragma once
// Enough inotify watches for the source: one per directory, counted before the first watch is
// set, against fs.inotify.max_user_watches minus what this user's processes already hold.
// lsyncd dies (2.x) or silently skips directories (1.x) when it runs out.

#include "base/error.hpp"
#include "safety/finding.hpp"

#include <cstdint>
#include <filesystem>

#include <sys/types.h>

namespace fsmirror::safety {

struct WatchBudget {
    std::uint64_t needed = 0; // directories to watch (this sync and those started before it)
    std::uint64_t limit = 0;  // fs.inotify.max_user_watches
    std::uint64_t in_use = 0; // watches this user's processes hold now
};

// Refuses when `needed` does not fit in what is left; warns above 90% of the limit. The fix
// gives the sysctl line with a value that leaves room to grow.
Finding check_watch_headroom(const std::filesystem::path& source, const WatchBudget& budget);

// Returns fs.inotify.max_user_watches.
base::Result<std::uint64_t> read_max_user_watches();

// Returns the watches held by processes of `uid`, counted from the "inotify wd:" lines of
// /proc/<pid>/fdinfo (processes that cannot be read are skipped, so this is a lower bound
// for other users' processes; as root it is exact).
std::uint64_t count_watches_in_use(uid_t uid);

} // namespace fsmirror::safety
