#include "tests/integration/safety_support.hpp"

#include "tests/support/file_ops.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::integration {

namespace fs = std::filesystem;

CommandRun run_verify(MirrorFixture& mirror, const std::vector<std::string>& extra) {
    std::vector<std::string> args{"verify", "--source", mirror.source().string(), "--target",
                                  mirror.target().string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return mirror.run_with_output(args);
}

std::map<std::string, std::string> fingerprint(const fs::path& root) {
    std::map<std::string, std::string> entries;
    auto describe = [](const fs::path& path) {
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0)
            return std::string("unreadable");
        std::string text = fmt::format("mode {:o} size {} mtime {}.{:09}", st.st_mode, st.st_size,
                                       st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
        if (S_ISREG(st.st_mode))
            text += " content " + test_support::read_file(path);
        else if (S_ISLNK(st.st_mode))
            text += " -> " + fs::read_symlink(path).string();
        return text;
    };
    entries[""] = describe(root);
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it)
        entries[fs::relative(it->path(), root).string()] = describe(it->path());
    return entries;
}

std::string fingerprint_changes(const std::map<std::string, std::string>& before,
                                const std::map<std::string, std::string>& after) {
    std::string text;
    for (const auto& [path, was] : before) {
        auto now = after.find(path);
        if (now == after.end())
            text += "gone: /" + path + "\n";
        else if (now->second != was)
            text += "changed: /" + path + "\n";
    }
    for (const auto& [path, is] : after)
        if (!before.contains(path))
            text += "new: /" + path + "\n";
    return text;
}

} // namespace fsmirror::integration
