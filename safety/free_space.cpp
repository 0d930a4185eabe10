#include "safety/free_space.hpp"

#include <algorithm>

#include <fmt/format.h>

#include <sys/statvfs.h>

namespace fsmirror::safety {

std::string human_bytes(std::uint64_t bytes) {
    static constexpr const char* k_units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(k_units)) {
        value /= 1024;
        ++unit;
    }
    if (unit == 0)
        return fmt::format("{} bytes", bytes);
    return fmt::format("{:.1f} {}", value, k_units[unit]);
}

Finding check_free_space(const std::filesystem::path& target, const SpaceNeed& need,
                         const SpaceAvailable& available) {
    Finding finding{"free-space", target.string(), Severity::ok, "", ""};
    const std::uint64_t missing_bytes =
        need.source_bytes > need.target_bytes ? need.source_bytes - need.target_bytes : 0;
    // A file written beside its old copy needs room for both until the rename; a new file's
    // temporary copy is the file itself. So the extra is bounded by what the target holds.
    const std::uint64_t in_flight = need.largest_file * std::max(1u, need.parallel_transfers);
    const std::uint64_t bytes =
        missing_bytes + std::min({in_flight, need.target_bytes, need.source_bytes});
    const std::uint64_t inodes =
        need.source_entries > need.target_entries ? need.source_entries - need.target_entries : 0;
    if (bytes > available.bytes) {
        finding.severity = Severity::error;
        finding.message = fmt::format("the initial sync needs about {} ({} of source data not "
                                      "yet on the target, plus room for files in flight) but "
                                      "only {} is free",
                                      human_bytes(bytes), human_bytes(missing_bytes),
                                      human_bytes(available.bytes));
        finding.fix = "free space on the target's file system or choose a larger target "
                      "(`df -h` shows the file systems)";
        return finding;
    }
    if (available.inodes_known && inodes > available.inodes) {
        finding.severity = Severity::error;
        finding.message = fmt::format("the initial sync needs about {} more inodes but only {} "
                                      "are free",
                                      inodes, available.inodes);
        finding.fix = "free inodes on the target's file system (`df -i` shows them) or choose "
                      "another target";
        return finding;
    }
    finding.message =
        fmt::format("about {} to write, {} free", human_bytes(bytes), human_bytes(available.bytes));
    return finding;
}

base::Result<SpaceAvailable> read_free_space(const std::filesystem::path& path) {
    struct statvfs fs {};
    if (::statvfs(path.c_str(), &fs) != 0)
        return base::fail_errno("statvfs " + path.string());
    SpaceAvailable available;
    available.bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    available.inodes = fs.f_favail;
    available.inodes_known = fs.f_files != 0;
    return available;
}

bool fits_within(const FileSystemUse& source, const SpaceAvailable& available) {
    if (source.bytes > available.bytes)
        return false;
    return !available.inodes_known || source.inodes == 0 || source.inodes <= available.inodes;
}

base::Result<FileSystemUse> read_file_system_use(const std::filesystem::path& path) {
    struct statvfs fs {};
    if (::statvfs(path.c_str(), &fs) != 0)
        return base::fail_errno("statvfs " + path.string());
    FileSystemUse use;
    use.bytes = static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * fs.f_frsize;
    use.inodes = fs.f_files >= fs.f_ffree ? fs.f_files - fs.f_ffree : 0;
    return use;
}

} // namespace fsmirror::safety
