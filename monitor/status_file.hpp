#pragma once
// lsyncd's statusFile layout, byte for byte where lsyncd defines it, followed by a section with
// fsmirror's own figures; and the atomic write used for every file the monitor produces.

#include "base/error.hpp"
#include "monitor/status_report.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace fsmirror::monitor {

// Returns lsyncd's date format (os.date(), i.e. "%a %b %e %H:%M:%S %Y" in local time):
// "Sun Nov 22 16:55:01 2026".
std::string lsyncd_date(WallTime time);

// Returns one delay line as lsyncd writes it: the status padded to 7 columns, the type, a
// space and the path relative to the source with a leading '/' (directories end in '/';
// Init and Blanket have an empty path): "wait   Create /b.txt", "active Init ".
std::string lsyncd_delay_line(const BacklogItem& item);

// Returns the whole status file: lsyncd's report, then "fsmirror:" and its own figures.
std::string format_status_file(const StatusReport& report);

// Writes `content` to `path` through a temporary file in the same directory and a rename, so
// a reader sees the old file or the new one, never a mix. The file gets `mode`.
// Returns the error (naming the path) when any step fails; the temporary file is removed.
base::Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   unsigned mode = 0644);

} // namespace fsmirror::monitor
