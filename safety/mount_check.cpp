#include "safety/mount_check.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <sys/stat.h>

namespace fsmirror::safety {

namespace {

std::string decode_octal_escapes(std::string_view text) {
    auto digit = [](char c) {
        return c >= '0' && c <= '7';
    };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 3 < text.size() && digit(text[i + 1]) && digit(text[i + 2]) &&
            digit(text[i + 3])) {
            out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                                     (text[i + 3] - '0'));
            i += 3;
            continue;
        }
        out += text[i];
    }
    return out;
}

} // namespace

std::vector<std::string> parse_mount_points(std::string_view mountinfo) {
    std::vector<std::string> points;
    while (!mountinfo.empty()) {
        auto end = mountinfo.find('\n');
        std::string_view line = mountinfo.substr(0, end);
        mountinfo = end == std::string_view::npos ? std::string_view{} : mountinfo.substr(end + 1);
        // "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw": field 5.
        std::size_t field = 0;
        std::size_t pos = 0;
        while (field < 4 && pos != std::string_view::npos) {
            pos = line.find(' ', pos);
            if (pos != std::string_view::npos)
                ++pos;
            ++field;
        }
        if (pos == std::string_view::npos || pos >= line.size())
            continue;
        auto stop = line.find(' ', pos);
        if (stop == std::string_view::npos)
            continue;
        points.push_back(decode_octal_escapes(line.substr(pos, stop - pos)));
    }
    return points;
}

base::Result<bool> is_mount_point(const std::filesystem::path& path) {
    std::error_code ec;
    auto canonical = std::filesystem::canonical(path, ec);
    if (ec)
        return base::fail(base::ErrorKind::not_found,
                          fmt::format("cannot resolve {}: {}", path.string(), ec.message()));
    if (canonical == "/")
        return true;
    std::ifstream in("/proc/self/mountinfo");
    if (in) {
        std::stringstream text;
        text << in.rdbuf();
        auto points = parse_mount_points(text.str());
        return std::find(points.begin(), points.end(), canonical.string()) != points.end();
    }
    // Without /proc: a mount point sits on another device than its parent (this misses a bind
    // mount of the same file system, which mountinfo would have listed).
    struct stat self {};
    struct stat parent {};
    if (::stat(canonical.c_str(), &self) != 0 ||
        ::stat(canonical.parent_path().c_str(), &parent) != 0)
        return base::fail_errno("stat " + canonical.string());
    return self.st_dev != parent.st_dev;
}

Finding check_mount_point(std::string_view role, const std::filesystem::path& path, bool mounted) {
    Finding finding{std::string(role) + "-mount", path.string(), Severity::ok, "", ""};
    if (mounted) {
        finding.message = "is a mount point";
        return finding;
    }
    finding.severity = Severity::error;
    finding.message = fmt::format("require_mount is set but the {} is not a mount point (an "
                                  "unmounted volume leaves an empty directory behind)",
                                  role);
    finding.fix = fmt::format("mount the volume at {} (check `findmnt {}`), or drop "
                              "require_mount for the {}",
                              path.string(), path.string(), role);
    return finding;
}

} // namespace fsmirror::safety
