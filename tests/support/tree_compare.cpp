#include "tests/support/tree_compare.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::test_support {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view k_marker_name = ".fsmirror";
constexpr std::string_view k_temp_prefix = ".fsmirror-";
constexpr std::string_view k_temp_suffix = ".tmp";

// lstat that tells "absent" apart from other failures; entries may vanish while the daemon
// works, which is a difference to report, not an error.
struct Entry {
    bool exists = false;
    struct stat st {};
    int error = 0; // errno of a failure other than ENOENT
};

Entry lstat_entry(const fs::path& path) {
    Entry entry;
    if (::lstat(path.c_str(), &entry.st) == 0) {
        entry.exists = true;
    } else if (errno != ENOENT && errno != ENOTDIR) {
        entry.error = errno;
    }
    return entry;
}

const char* type_name(mode_t mode) {
    if (S_ISREG(mode))
        return "file";
    if (S_ISDIR(mode))
        return "directory";
    if (S_ISLNK(mode))
        return "symlink";
    if (S_ISFIFO(mode))
        return "fifo";
    if (S_ISSOCK(mode))
        return "socket";
    return "device";
}

std::string format_time(const struct timespec& t) {
    return fmt::format("{}.{:09}", static_cast<long long>(t.tv_sec), t.tv_nsec);
}

std::string display(const fs::path& relative) {
    return relative.empty() ? std::string("(root)") : relative.string();
}

std::optional<std::string> read_link(const fs::path& path) {
    std::error_code ec;
    fs::path value = fs::read_symlink(path, ec);
    if (ec)
        return std::nullopt;
    return value.string();
}

// Returns the offset of the first differing byte, nullopt when equal, or an error line.
std::optional<std::string> compare_contents(const fs::path& source, const fs::path& target,
                                            const fs::path& relative) {
    std::ifstream a(source, std::ios::binary);
    std::ifstream b(target, std::ios::binary);
    if (!a || !b)
        return fmt::format("cannot read: {} (for content comparison)", display(relative));
    std::array<char, 65536> buffer_a;
    std::array<char, 65536> buffer_b;
    std::uintmax_t offset = 0;
    for (;;) {
        a.read(buffer_a.data(), buffer_a.size());
        b.read(buffer_b.data(), buffer_b.size());
        const auto got_a = static_cast<std::size_t>(a.gcount());
        const auto got_b = static_cast<std::size_t>(b.gcount());
        const std::size_t common = std::min(got_a, got_b);
        const auto mismatch =
            std::mismatch(buffer_a.begin(), buffer_a.begin() + common, buffer_b.begin());
        if (mismatch.first != buffer_a.begin() + common || got_a != got_b) {
            const auto at = offset + static_cast<std::uintmax_t>(mismatch.first - buffer_a.begin());
            return fmt::format("content differs: {} (first at byte {})", display(relative), at);
        }
        if (got_a == 0)
            return std::nullopt;
        offset += got_a;
    }
}

// Names in `dir`, sorted; an unreadable directory adds a difference line.
std::set<std::string> list_names(const fs::path& dir, const fs::path& relative, const char* side,
                                 std::vector<std::string>& out) {
    std::set<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec))
        names.insert(it->path().filename().string());
    if (ec && ec != std::errc::no_such_file_or_directory)
        out.push_back(fmt::format("cannot read: {} directory {} ({})", side, display(relative),
                                  ec.message()));
    return names;
}

class TreeComparer {
public:
    TreeComparer(const fs::path& source, const fs::path& target, const CompareOptions& options)
        : m_source(source), m_target(target), m_options(options) {}

    std::vector<std::string> run() {
        compare_entry(fs::path());
        return std::move(m_out);
    }

private:
    bool ignored(const fs::path& relative) const {
        return std::find(m_options.ignored.begin(), m_options.ignored.end(), relative) !=
               m_options.ignored.end();
    }

    void compare_entry(const fs::path& relative) {
        const fs::path source_path = relative.empty() ? m_source : m_source / relative;
        const fs::path target_path = relative.empty() ? m_target : m_target / relative;
        const Entry s = lstat_entry(source_path);
        const Entry t = lstat_entry(target_path);
        if (s.error != 0 || t.error != 0) {
            m_out.push_back(fmt::format("cannot read: {} ({})", display(relative),
                                        std::strerror(s.error != 0 ? s.error : t.error)));
            return;
        }
        if (!s.exists && !t.exists)
            return; // vanished from the source while walking
        if (!t.exists) {
            m_out.push_back("missing in target: " + display(relative));
            return;
        }
        if (!s.exists) {
            m_out.push_back("extra in target: " + display(relative));
            return;
        }
        const mode_t s_type = s.st.st_mode & S_IFMT;
        const mode_t t_type = t.st.st_mode & S_IFMT;
        if (s_type != t_type) {
            m_out.push_back(fmt::format("type differs: {} ({} vs {})", display(relative),
                                        type_name(s_type), type_name(t_type)));
            return;
        }

        if (S_ISREG(s_type))
            compare_file(source_path, target_path, relative, s.st, t.st);
        else if (S_ISLNK(s_type))
            compare_symlink(source_path, target_path, relative);
        else if (S_ISDIR(s_type))
            compare_directory(source_path, target_path, relative);

        // Symlink permission bits are meaningless on Linux (always 0777).
        if (!S_ISLNK(s_type) && (s.st.st_mode & 07777) != (t.st.st_mode & 07777))
            m_out.push_back(fmt::format("mode differs: {} ({:04o} vs {:04o})", display(relative),
                                        s.st.st_mode & 07777, t.st.st_mode & 07777));

        const bool check_mtime = S_ISDIR(s_type)   ? m_options.directory_mtimes
                                 : S_ISLNK(s_type) ? m_options.symlink_mtimes
                                                   : true;
        if (check_mtime && (s.st.st_mtim.tv_sec != t.st.st_mtim.tv_sec ||
                            s.st.st_mtim.tv_nsec != t.st.st_mtim.tv_nsec))
            m_out.push_back(fmt::format("mtime differs: {} ({} vs {})", display(relative),
                                        format_time(s.st.st_mtim), format_time(t.st.st_mtim)));
    }

    void compare_file(const fs::path& source_path, const fs::path& target_path,
                      const fs::path& relative, const struct stat& s, const struct stat& t) {
        if (s.st_size != t.st_size) {
            m_out.push_back(fmt::format("size differs: {} ({} vs {})", display(relative),
                                        static_cast<long long>(s.st_size),
                                        static_cast<long long>(t.st_size)));
            return;
        }
        if (auto difference = compare_contents(source_path, target_path, relative))
            m_out.push_back(std::move(*difference));
    }

    void compare_symlink(const fs::path& source_path, const fs::path& target_path,
                         const fs::path& relative) {
        const auto s = read_link(source_path);
        const auto t = read_link(target_path);
        if (!s || !t) {
            m_out.push_back("cannot read: symlink " + display(relative));
            return;
        }
        if (*s != *t)
            m_out.push_back(fmt::format("symlink target differs: {} ('{}' vs '{}')",
                                        display(relative), *s, *t));
    }

    void compare_directory(const fs::path& source_path, const fs::path& target_path,
                           const fs::path& relative) {
        std::set<std::string> names = list_names(source_path, relative, "source", m_out);
        std::set<std::string> target_names = list_names(target_path, relative, "target", m_out);
        if (relative.empty())
            target_names.erase(std::string(k_marker_name));
        names.merge(target_names);
        for (const std::string& name : names) {
            const fs::path child = relative / name;
            if (!ignored(child))
                compare_entry(child);
        }
    }

    const fs::path& m_source;
    const fs::path& m_target;
    const CompareOptions& m_options;
    std::vector<std::string> m_out;
};

} // namespace

std::vector<std::string> compare_trees(const fs::path& source, const fs::path& target,
                                       const CompareOptions& options) {
    return TreeComparer(source, target, options).run();
}

bool is_temp_file_name(const std::string& name) {
    return name.size() > k_temp_prefix.size() + k_temp_suffix.size() &&
           name.starts_with(k_temp_prefix) && name.ends_with(k_temp_suffix);
}

std::vector<fs::path> find_temp_files(const fs::path& root) {
    // A hand-written walk rather than recursive_directory_iterator: a directory the daemon
    // removes mid-walk must only end that branch, not the whole listing.
    std::vector<fs::path> found;
    std::vector<fs::path> pending{root};
    while (!pending.empty()) {
        const fs::path dir = std::move(pending.back());
        pending.pop_back();
        std::error_code ec;
        fs::directory_iterator it(dir, ec);
        for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
            if (is_temp_file_name(it->path().filename().string()))
                found.push_back(it->path());
            std::error_code type_ec;
            if (it->is_directory(type_ec) && !it->is_symlink(type_ec))
                pending.push_back(it->path());
        }
    }
    std::sort(found.begin(), found.end());
    return found;
}

} // namespace fsmirror::test_support
