#pragma once
// `require_mount`: the source or target must be a mount point. An unmounted volume (a LUKS
// disk that did not open, an NFS share that did not come up) leaves an empty directory on the
// root disk; mirroring from it empties the mirror, mirroring into it fills the root disk.

#include "base/error.hpp"
#include "safety/finding.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::safety {

// Returns the mount points (field 5) of /proc/self/mountinfo text, with the kernel's octal
// escapes (\040 for a space, ...) decoded. Malformed lines are skipped.
std::vector<std::string> parse_mount_points(std::string_view mountinfo);

// Returns true when `path` (resolved to its canonical form) is a mount point: listed in
// /proc/self/mountinfo, or, where that cannot be read, on another device than its parent.
// Returns not_found when the path does not exist.
base::Result<bool> is_mount_point(const std::filesystem::path& path);

// Returns the finding of check "<role>-mount" for `path`, given whether it is a mount point.
Finding check_mount_point(std::string_view role, const std::filesystem::path& path, bool mounted);

} // namespace fsmirror::safety
