#include "monitor/system_probe.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <limits.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace fsmirror::monitor {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string decode_octal_escapes(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size() &&
            std::all_of(text.begin() + static_cast<long>(i) + 1,
                        text.begin() + static_cast<long>(i) + 4,
                        [](char c) { return c >= '0' && c <= '7'; })) {
            out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                     (text[i + 3] - '0'));
            i += 3;
        } else {
            out += text[i];
        }
    }
    return out;
}

} // namespace

std::optional<std::string> parse_mountinfo_line(const std::string& line) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": field 5 is the
    // mount point.
    std::istringstream fields(line);
    std::string field;
    for (int i = 0; i < 5; ++i)
        if (!(fields >> field))
            return std::nullopt;
    return decode_octal_escapes(field);
}

std::vector<std::string> read_mount_points() {
    std::vector<std::string> points;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line))
        if (auto point = parse_mountinfo_line(line))
            points.push_back(std::move(*point));
    return points;
}

PathProbe probe_path(const std::string& path, Disk disk) {
    PathProbe probe;
    probe.path = path;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        ::access(path.c_str(), R_OK | X_OK) != 0)
        return probe;
    probe.exists = true;

    const std::filesystem::path self = std::filesystem::path(path).lexically_normal();
    struct stat parent {};
    const std::string parent_path = (self / "..").string();
    if (::stat(parent_path.c_str(), &parent) == 0 &&
        (parent.st_dev != st.st_dev || parent.st_ino == st.st_ino))
        probe.is_mountpoint = true;
    if (!probe.is_mountpoint) {
        std::string normal = self.string();
        if (normal.size() > 1 && normal.ends_with('/'))
            normal.pop_back();
        const auto points = read_mount_points();
        probe.is_mountpoint = std::find(points.begin(), points.end(), normal) != points.end();
    }

    if (disk == Disk::yes) {
        struct statvfs fs {};
        if (::statvfs(path.c_str(), &fs) == 0) {
            DiskUsage usage;
            const std::uint64_t unit = fs.f_frsize ? fs.f_frsize : fs.f_bsize;
            usage.total_bytes = static_cast<std::uint64_t>(fs.f_blocks) * unit;
            usage.free_bytes = static_cast<std::uint64_t>(fs.f_bfree) * unit;
            usage.available_bytes = static_cast<std::uint64_t>(fs.f_bavail) * unit;
            usage.total_inodes = fs.f_files;
            usage.free_inodes = fs.f_ffree;
            probe.disk = usage;
        }
    }
    return probe;
}

std::optional<std::uint64_t> read_max_user_watches() {
    std::ifstream in("/proc/sys/fs/inotify/max_user_watches");
    std::uint64_t value = 0;
    if (in >> value)
        return value;
    return std::nullopt;
}

std::string host_name() {
    char buffer[HOST_NAME_MAX + 1] = {};
    if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0')
        return "localhost";
    return buffer;
}

} // namespace fsmirror::monitor
