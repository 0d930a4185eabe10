#pragma once
// Read-only access to the source tree. Paths are resolved beneath the source root without
// following symlinks, so a path that turned into a symlink reads as absent rather than
// leading somewhere else. Takes no locks on anything.

#include "base/error.hpp"
#include "base/unique_fd.hpp"
#include "transport/entry_info.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace fsmirror::engine {

class SourceTree {
public:
    explicit SourceTree(std::filesystem::path root);

    // Opens (or re-opens, after the root was replaced) the root directory. Returns not_found
    // when it is missing or not a directory.
    base::Status open();

    const std::filesystem::path& root() const { return m_root; }

    // True when the root path now names another directory than the one opened: it was
    // removed, replaced, or a file system was mounted or unmounted over it.
    bool root_replaced() const;

    // Returns the entry at `path`, nullopt when absent.
    base::Result<std::optional<transport::EntryInfo>> stat(std::string_view path) const;

    // Returns the entries of directory `path`; not_found when it is gone.
    base::Result<std::vector<transport::DirEntry>> list_directory(std::string_view path) const;

    // Returns true as soon as directory `path` holds an entry `counts` accepts (called with
    // the name and whether it is a directory), false when none does; not_found when it is
    // gone. Reads no more of a huge directory than it must.
    base::Result<bool>
    any_entry(std::string_view path,
              const std::function<bool(std::string_view name, bool is_directory)>& counts) const;

    // Opens regular file `path` for reading; not_found when it is gone or no longer a file.
    base::Result<base::UniqueFd> open_file(std::string_view path) const;

    // Opens directory `path` as an O_PATH descriptor (for *at() calls and fchdir); not_found
    // when it is gone, no longer a directory, or reached through a symlink.
    base::Result<base::UniqueFd> open_directory(std::string_view path) const;

private:
    std::string display(std::string_view path) const;

    std::filesystem::path m_root;
    base::UniqueFd m_root_fd;
};

} // namespace fsmirror::engine
