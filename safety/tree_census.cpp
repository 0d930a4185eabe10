#include "safety/tree_census.hpp"

#include "base/unique_fd.hpp"
#include "transport/target_marker.hpp"
#include "transport/temp_name.hpp"

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

namespace fsmirror::safety {

namespace {

struct WalkRules {
    RootMarker marker;
    CensusDetail detail;
    std::uint64_t directory_limit;
    const std::function<bool()>& stop_at_limit; // empty: stop
};

// Counts the directory open at `fd` (consumed) into `census`; returns false when it cannot
// be read at all.
bool walk(int fd, bool is_root, WalkRules& rules, TreeCensus& census) {
    DIR* dir = ::fdopendir(fd);
    if (!dir) {
        ::close(fd);
        return false;
    }
    std::vector<std::string> subdirectories;
    while (dirent* item = ::readdir(dir)) {
        std::string_view name = item->d_name;
        if (name == "." || name == "..")
            continue;
        if (rules.marker == RootMarker::skip &&
            (transport::is_temp_name(name) || (is_root && transport::is_marker_path(name))))
            continue;
        if (rules.detail == CensusDetail::counts_only && item->d_type != DT_UNKNOWN) {
            ++census.entries;
            if (item->d_type == DT_DIR)
                subdirectories.emplace_back(name);
            continue;
        }
        struct stat st {};
        if (::fstatat(::dirfd(dir), item->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue; // vanished meanwhile
        ++census.entries;
        if (S_ISDIR(st.st_mode)) {
            subdirectories.emplace_back(name);
        } else if (S_ISREG(st.st_mode)) {
            auto allocated = static_cast<std::uint64_t>(st.st_blocks) * 512;
            census.bytes += allocated;
            census.largest_file = std::max(census.largest_file, allocated);
        }
    }
    for (const auto& name : subdirectories) {
        if (census.directories > rules.directory_limit) {
            if (!rules.stop_at_limit || rules.stop_at_limit()) {
                census.complete = false;
                break;
            }
            rules.directory_limit = std::numeric_limits<std::uint64_t>::max();
        }
        int child =
            ::openat(::dirfd(dir), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (child < 0)
            continue;
        ++census.directories;
        walk(child, false, rules, census);
    }
    ::closedir(dir);
    return true;
}

} // namespace

base::Result<TreeCensus> take_census(const std::filesystem::path& root, RootMarker marker,
                                     CensusDetail detail, std::uint64_t directory_limit,
                                     const std::function<bool()>& stop_at_limit) {
    int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return base::fail_errno("open directory " + root.string());
    TreeCensus census;
    census.directories = 1;
    WalkRules rules{marker, detail, directory_limit, stop_at_limit};
    if (!walk(fd, true, rules, census))
        return base::fail_errno("read directory " + root.string());
    return census;
}

base::Result<TreeCensus> take_census(transport::Transport& target) {
    TreeCensus census;
    std::vector<std::string> pending{""};
    while (!pending.empty()) {
        const std::string directory = std::move(pending.back());
        pending.pop_back();
        auto entries = target.list_directory(directory);
        if (!entries) {
            if (directory.empty())
                return std::unexpected(entries.error());
            continue;
        }
        ++census.directories;
        for (const auto& entry : *entries) {
            if (transport::is_temp_name(entry.name) ||
                (directory.empty() && transport::is_marker_path(entry.name)))
                continue;
            ++census.entries;
            if (entry.info.type == transport::EntryType::directory) {
                pending.push_back(directory.empty() ? entry.name : directory + "/" + entry.name);
            } else if (entry.info.type == transport::EntryType::file) {
                census.bytes += entry.info.size;
                census.largest_file = std::max(census.largest_file, entry.info.size);
            }
        }
    }
    return census;
}

} // namespace fsmirror::safety
