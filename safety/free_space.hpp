#pragma once
// Enough free space (and inodes) on the target for the initial sync, estimated from what the
// source holds beyond what the target already has. An estimate: a later ENOSPC is still
// reported and retried, but a target that obviously cannot hold the source is refused first.

#include "base/error.hpp"
#include "safety/finding.hpp"

#include <cstdint>
#include <filesystem>

namespace fsmirror::safety {

struct SpaceNeed {
    std::uint64_t source_bytes = 0; // allocated bytes of the source's files
    std::uint64_t target_bytes = 0; // ... already on the target (replaced as files change)
    std::uint64_t largest_file = 0; // a file is written beside its old copy, then renamed
    std::uint64_t source_entries = 0;
    std::uint64_t target_entries = 0;
    unsigned parallel_transfers = 1; // that many files may be in flight at once
};

struct SpaceAvailable {
    std::uint64_t bytes = 0;  // free for unprivileged users (f_bavail)
    std::uint64_t inodes = 0; // free inodes (f_favail)
    bool inodes_known = true; // false on file systems that report no inode counts (btrfs)
};

// Refuses when the estimated need does not fit. `target` names the path in the finding.
Finding check_free_space(const std::filesystem::path& target, const SpaceNeed& need,
                         const SpaceAvailable& available);

// What a whole file system holds: an upper bound for any tree on it.
struct FileSystemUse {
    std::uint64_t bytes = 0;  // allocated (f_blocks - f_bfree)
    std::uint64_t inodes = 0; // in use (f_files - f_ffree); 0 when it reports none
};

// True when `source` fits in `available` (bytes, and inodes where both are known): the
// free-space estimate for any tree on that file system cannot exceed what the file system
// uses (check_free_space never asks for more than the source tree's bytes).
bool fits_within(const FileSystemUse& source, const SpaceAvailable& available);

// Returns what statvfs() says is in use on the file system holding `path`.
base::Result<FileSystemUse> read_file_system_use(const std::filesystem::path& path);

// Returns what statvfs() says is free on the file system holding `path`.
base::Result<SpaceAvailable> read_free_space(const std::filesystem::path& path);

// Returns a size in the largest fitting binary unit: "1.5 GiB".
std::string human_bytes(std::uint64_t bytes);

} // namespace fsmirror::safety
