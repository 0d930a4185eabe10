#pragma once
// One walk over a local tree that counts what the pre-flight checks need: directories (one
// inotify watch each), entries (inodes) and, when asked, allocated bytes (what `du` reports).
// Without bytes the walk reads only directories (d_type): no stat of every file.

#include "base/error.hpp"
#include "transport/transport.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>

namespace fsmirror::safety {

struct TreeCensus {
    std::uint64_t directories = 0;  // the root included
    std::uint64_t entries = 0;      // everything below the root
    std::uint64_t bytes = 0;        // allocated bytes of regular files (st_blocks * 512)
    std::uint64_t largest_file = 0; // the largest allocated size of one file
    bool complete = true;           // false when the walk stopped at its directory limit
};

// Which root-level entries the census leaves out.
enum class RootMarker {
    count, // a source: count everything
    skip,  // a target: fsmirror's `.fsmirror` marker and temp files are not content
};

// What the census reads besides the directories.
enum class CensusDetail {
    sizes,       // stat every entry: bytes and largest_file are filled
    counts_only, // directory listings only: bytes and largest_file stay 0
};

// Walks `root` without following symlinks. Entries that vanish meanwhile are skipped;
// unreadable subdirectories are counted as entries and not entered. Stops, with `complete`
// false, once more than `directory_limit` directories are counted (when only "more than N"
// matters, the rest of a large tree is not read), unless `stop_at_limit`, asked once at that
// point, says to count on. Returns the error when the root itself cannot be read.
base::Result<TreeCensus>
take_census(const std::filesystem::path& root, RootMarker marker,
            CensusDetail detail = CensusDetail::sizes,
            std::uint64_t directory_limit = std::numeric_limits<std::uint64_t>::max(),
            const std::function<bool()>& stop_at_limit = {});

// Walks a target through `target` (an SSH target, one listing per directory) with
// RootMarker::skip. Sizes are the files' lengths, not their allocated blocks (which the
// transports do not report). Directories that cannot be listed are skipped; returns the error
// when the root cannot be.
base::Result<TreeCensus> take_census(transport::Transport& target);

} // namespace fsmirror::safety
