#pragma once
// The few facts the health checks need from the running system: whether a directory exists
// and is a mount point, how full its file system is, the inotify watch limit, the host name.

#include "monitor/health_checks.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace fsmirror::monitor {

// Returns what is at `path`: an accessible directory or not, a mount point or not (its device
// differs from its parent's, or /proc/self/mountinfo lists it), and, when `disk` is
// Disk::yes and it exists, its file system's usage (statvfs).
enum class Disk { yes, no };
PathProbe probe_path(const std::string& path, Disk disk);

// Returns the mount points listed in /proc/self/mountinfo (escapes decoded); empty when it
// cannot be read.
std::vector<std::string> read_mount_points();

// Returns the mount point list's entry for one line of /proc/self/mountinfo, nullopt when the
// line is malformed. Exposed for tests.
std::optional<std::string> parse_mountinfo_line(const std::string& line);

// Returns /proc/sys/fs/inotify/max_user_watches, nullopt when it cannot be read.
std::optional<std::uint64_t> read_max_user_watches();

// Returns the host name (gethostname), "localhost" when it cannot be read.
std::string host_name();

} // namespace fsmirror::monitor
