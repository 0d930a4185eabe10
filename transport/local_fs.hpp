#pragma once
// Thin, errno-mapped wrappers over the *at() system calls that both the source reader and the
// local transport use, so the two sides see entries the same way.

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "transport/entry_info.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/stat.h>

namespace fsmirror::transport {

// Returns the entry `name` in directory `dir_fd` without following symlinks, nullopt when it
// does not exist. `display` names the path in error messages.
base::Result<std::optional<EntryInfo>> stat_at(int dir_fd, const std::string& name,
                                               const std::string& display);

// Returns the entries of the open directory `dir_fd` (without "." and ".."), each lstat'ed.
// Entries that vanish while listing are skipped.
base::Result<std::vector<DirEntry>> list_directory_fd(int dir_fd, const std::string& display);

// Converts a struct stat (and, for a symlink, its target) into an EntryInfo.
EntryInfo entry_info_from_stat(const struct stat& st);

// Removes `name` in `dir_fd`, recursively for directories. Absent is success.
base::Status remove_tree_at(int dir_fd, const std::string& name, const std::string& display);

} // namespace fsmirror::transport

namespace fsmirror::transport {

// Opens directory `rel_dir` below `root_fd` as an O_PATH descriptor without following any
// symlink and without leaving the root (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS).
// Returns not_found when a component is missing, is not a directory, or is a symlink.
base::Result<base::UniqueFd> open_directory_beneath(int root_fd, std::string_view rel_dir,
                                                    const std::string& display);

// Opens the file `rel_path` below `root_fd` with `flags` (O_CLOEXEC added) in one openat2,
// under the same rules: no symlink anywhere on the way or at the end, never outside the root.
// Returns the errno-mapped error; a missing component, a non-directory on the way or a symlink
// is not_found.
base::Result<base::UniqueFd> open_file_beneath(int root_fd, std::string_view rel_path, int flags,
                                               const std::string& display);

// As open_directory_beneath, but creates missing components (mode 0755) and replaces
// non-directories in the way, as a mirror must when the source has a directory there.
base::Result<base::UniqueFd> make_directories_beneath(int root_fd, std::string_view rel_dir,
                                                      const std::string& display);

} // namespace fsmirror::transport
