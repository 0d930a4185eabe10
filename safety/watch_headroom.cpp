#include "safety/watch_headroom.hpp"

#include <fstream>
#include <string>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::safety {

namespace fs = std::filesystem;

Finding check_watch_headroom(const fs::path& source, const WatchBudget& budget) {
    Finding finding{"inotify-watches", source.string(), Severity::ok, "", ""};
    const std::uint64_t after = budget.in_use + budget.needed;
    // Room for the tree to double, rounded up to a power of two as sysctl values usually are.
    std::uint64_t suggested = 8192;
    while (suggested < 2 * after)
        suggested *= 2;
    const std::string sysctl =
        fmt::format("sysctl -w fs.inotify.max_user_watches={0} and persist it with `echo "
                    "fs.inotify.max_user_watches={0} > /etc/sysctl.d/90-fsmirror.conf`",
                    suggested);
    if (after > budget.limit) {
        finding.severity = Severity::error;
        finding.message = fmt::format(
            "needs {} inotify watches (one per directory) but only {} "
            "of fs.inotify.max_user_watches={} are free ({} in use)",
            budget.needed, budget.limit > budget.in_use ? budget.limit - budget.in_use : 0,
            budget.limit, budget.in_use);
        finding.fix = sysctl;
        return finding;
    }
    if (after * 10 > budget.limit * 9) {
        finding.severity = Severity::warning;
        finding.message = fmt::format("{} directories to watch leave little headroom: {} of "
                                      "fs.inotify.max_user_watches={} would be in use",
                                      budget.needed, after, budget.limit);
        finding.fix = sysctl;
        return finding;
    }
    finding.message = fmt::format("{} directories to watch, {} of {} watches in use", budget.needed,
                                  budget.in_use, budget.limit);
    return finding;
}

base::Result<std::uint64_t> read_max_user_watches() {
    std::ifstream in("/proc/sys/fs/inotify/max_user_watches");
    std::uint64_t value = 0;
    if (!(in >> value))
        return base::fail(base::ErrorKind::not_found,
                          "cannot read /proc/sys/fs/inotify/max_user_watches");
    return value;
}

std::uint64_t count_watches_in_use(uid_t uid) {
    std::uint64_t watches = 0;
    std::error_code ec;
    for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end; proc.increment(ec)) {
        const std::string pid = proc->path().filename().string();
        if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos)
            continue;
        struct stat st {};
        if (::stat(proc->path().c_str(), &st) != 0 || st.st_uid != uid)
            continue;
        std::error_code fd_ec;
        for (fs::directory_iterator fd(proc->path() / "fd", fd_ec), fd_end; !fd_ec && fd != fd_end;
             fd.increment(fd_ec)) {
            char link[64] = {};
            ssize_t n = ::readlink(fd->path().c_str(), link, sizeof link - 1);
            if (n <= 0 ||
                std::string_view(link, static_cast<std::size_t>(n)) != "anon_inode:inotify")
                continue;
            std::ifstream info(proc->path() / "fdinfo" / fd->path().filename());
            std::string line;
            while (std::getline(info, line))
                if (line.starts_with("inotify wd:"))
                    ++watches;
        }
    }
    return watches;
}

} // namespace fsmirror::safety
