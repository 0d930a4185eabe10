#include "engine/tree_compare.hpp"

#include "base/rel_path.hpp"
#include "base/unique_fd.hpp"
#include "engine/sqlite_files.hpp"
#include "engine/worker_pool.hpp"
#include "transport/content_hash.hpp"
#include "transport/target_marker.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

namespace fsmirror::engine {

using transport::EntryInfo;
using transport::EntryType;

namespace {

std::string describe_entry(const EntryInfo& info) {
    switch (info.type) {
    case EntryType::file:
        return fmt::format("file, {} bytes", info.size);
    case EntryType::symlink:
        return "symlink -> " + info.link_target;
    case EntryType::directory:
    case EntryType::other:
        break;
    }
    return transport::to_string(info.type);
}

std::string format_mtime(std::int64_t ns) {
    const char* sign = ns < 0 ? "-" : "";
    std::uint64_t magnitude =
        ns < 0 ? static_cast<std::uint64_t>(-ns) : static_cast<std::uint64_t>(ns);
    return fmt::format("{}{}.{:09}", sign, magnitude / 1'000'000'000, magnitude % 1'000'000'000);
}

// SQLite database files are whole pages of at least 512 bytes: a cheap filter before reading
// a file's header.
constexpr std::uint64_t k_min_page = 512;

EntryKind kind_of(const EntryInfo& info) {
    return info.type == EntryType::directory ? EntryKind::directory : EntryKind::file;
}

class Comparer {
public:
    Comparer(const SourceTree& source, transport::Transport& target, const ExcludeFilter& excludes,
             const TreeCompareOptions& options)
        : m_source(source), m_target(target), m_excludes(excludes), m_options(options) {}

    base::Result<TreeComparison> run() {
        auto source_root = m_source.stat("");
        if (!source_root)
            return std::unexpected(source_root.error());
        if (!*source_root)
            return base::fail(base::ErrorKind::not_found,
                              "source directory " + m_source.root().string() + " is gone");
        auto target_root = m_target.stat("");
        if (!target_root)
            return std::unexpected(target_root.error());
        if (!*target_root)
            return base::fail(base::ErrorKind::not_found,
                              "target " + m_target.describe() + " does not exist");
        compare_attributes("", **source_root, **target_root);
        auto walked = walk("");
        if (!walked)
            return std::unexpected(walked.error());
        hash_pending();
        compare_databases();
        if (m_hash_unsupported) // the target cannot hash: no content was compared at all
            return std::unexpected(*m_hash_unsupported);
        std::stable_sort(m_result.differences.begin(), m_result.differences.end(),
                         [](const Difference& a, const Difference& b) { return a.path < b.path; });
        return std::move(m_result);
    }

private:
    struct HashJob {
        std::string path;
        std::uint64_t size;
    };

    void add(DifferenceKind kind, const std::string& path, std::string source = "",
             std::string target = "") {
        std::lock_guard lock(m_mutex);
        m_result.differences.push_back(
            Difference{kind, path, std::move(source), std::move(target)});
    }

    // Compares the two directories' contents; an error only for the roots.
    base::Status walk(const std::string& path) {
        auto source_entries = m_source.list_directory(path);
        if (!source_entries) {
            if (path.empty())
                return std::unexpected(source_entries.error());
            if (source_entries.error().kind != base::ErrorKind::not_found)
                add(DifferenceKind::unreadable, path, source_entries.error().message, "");
            return {};
        }
        auto target_entries = m_target.list_directory(path);
        if (!target_entries) {
            if (path.empty())
                return std::unexpected(target_entries.error());
            if (target_entries.error().kind != base::ErrorKind::not_found)
                add(DifferenceKind::unreadable, path, "", target_entries.error().message);
            return {};
        }
        std::map<std::string, EntryInfo> on_target;
        for (auto& entry : *target_entries)
            on_target.emplace(std::move(entry.name), std::move(entry.info));
        if (path.empty())
            on_target.erase(std::string(transport::k_marker_name));

        std::set<std::string> source_names;
        if (m_options.databases != Databases::as_files)
            for (const auto& entry : *source_entries)
                source_names.insert(entry.name);

        std::vector<std::string> subdirectories;
        for (const auto& entry : *source_entries) {
            if (path.empty() && transport::is_marker_path(entry.name))
                continue;
            const std::string child = base::join_rel(path, entry.name);
            auto found = on_target.find(entry.name);
            if (m_options.databases != Databases::as_files && entry.info.type == EntryType::file) {
                // The source's -wal, -shm and -journal are never mirrored as files.
                if (auto companion = companion_of(entry.name);
                    companion && source_names.contains(companion->database)) {
                    if (found != on_target.end())
                        on_target.erase(found);
                    continue;
                }
            }
            if (m_excludes.is_excluded(child, kind_of(entry.info))) {
                if (found != on_target.end())
                    on_target.erase(found);
                continue;
            }
            ++m_result.entries;
            if (found == on_target.end()) {
                add(DifferenceKind::missing, child, describe_entry(entry.info), "");
                continue;
            }
            const EntryInfo& there = found->second;
            if (there.type != entry.info.type) {
                add(DifferenceKind::type, child, transport::to_string(entry.info.type),
                    transport::to_string(there.type));
            } else if (m_options.databases != Databases::as_files &&
                       is_database(child, entry.info)) {
                compare_database_attributes(child, entry.info, there);
            } else {
                compare_attributes(child, entry.info, there);
                if (entry.info.type == EntryType::directory)
                    subdirectories.push_back(child);
            }
            on_target.erase(found);
        }
        for (const auto& [name, info] : on_target) {
            const std::string child = base::join_rel(path, name);
            if (m_excludes.is_excluded(child, kind_of(info)))
                continue;
            add(DifferenceKind::extra, child, "", describe_entry(info));
        }
        for (const auto& child : subdirectories)
            (void)walk(child);
        return {};
    }

    void compare_attributes(const std::string& path, const EntryInfo& source,
                            const EntryInfo& target) {
        const auto& policy = m_options.attributes;
        if (source.type == EntryType::file && source.size != target.size)
            add(DifferenceKind::size, path, std::to_string(source.size),
                std::to_string(target.size));
        if (source.type == EntryType::symlink && source.link_target != target.link_target)
            add(DifferenceKind::symlink_target, path, source.link_target, target.link_target);
        if (policy.mode && source.type != EntryType::symlink && source.mode != target.mode)
            add(DifferenceKind::mode, path, fmt::format("{:04o}", source.mode),
                fmt::format("{:04o}", target.mode));
        if (policy.times && source.type != EntryType::other &&
            at_granularity(source.mtime_ns) != target.mtime_ns)
            add(DifferenceKind::mtime, path, format_mtime(source.mtime_ns),
                format_mtime(target.mtime_ns));
        if (policy.owner && (source.uid != target.uid || source.gid != target.gid))
            add(DifferenceKind::owner, path, fmt::format("{}:{}", source.uid, source.gid),
                fmt::format("{}:{}", target.uid, target.gid));
        if (m_options.contents == Contents::checksum && source.type == EntryType::file &&
            source.size == target.size)
            m_hash_jobs.push_back(HashJob{path, source.size});
    }

    // True when the source file `path` starts with SQLite's header. Read here, in a process
    // that holds no SQLite connection, so closing the descriptor drops no lock.
    bool is_database(const std::string& path, const EntryInfo& info) {
        if (info.size < k_min_page || info.size % k_min_page != 0)
            return false;
        auto fd = m_source.open_file(path);
        if (!fd)
            return false;
        std::array<unsigned char, k_sqlite_header_bytes> header{};
        const ssize_t got = ::pread(fd->get(), header.data(), header.size(), 0);
        return got == static_cast<ssize_t>(header.size()) &&
               classify_header(header) != DatabaseFormat::not_database;
    }

    // A database's snapshot differs from its live file in size and time by design; its
    // content is compared logically (or not at all: Databases::skipped).
    void compare_database_attributes(const std::string& path, const EntryInfo& source,
                                     const EntryInfo& target) {
        const auto& policy = m_options.attributes;
        if (policy.mode && source.mode != target.mode)
            add(DifferenceKind::mode, path, fmt::format("{:04o}", source.mode),
                fmt::format("{:04o}", target.mode));
        if (policy.owner && (source.uid != target.uid || source.gid != target.gid))
            add(DifferenceKind::owner, path, fmt::format("{}:{}", source.uid, source.gid),
                fmt::format("{}:{}", target.uid, target.gid));
        if (m_options.databases != Databases::logical)
            return;
        if (m_options.inspector == nullptr) {
            ++m_result.databases_not_compared;
            return;
        }
        m_database_jobs.push_back(path);
    }

    void compare_databases() {
        for (const auto& path : m_database_jobs)
            compare_database(path);
    }

    // The target's copy of database `path`, read by the helper here for a local target, and by
    // the agent (running the same helper there) for a remote one.
    base::Result<transport::DatabaseDigest> inspect_target_database(const std::string& path,
                                                                    const std::string& parent,
                                                                    const std::string& name) {
        if (!m_options.local_target)
            return m_target.inspect_database(path, m_options.integrity_check);
        const auto target_path = *m_options.local_target / parent;
        base::UniqueFd target_dir(
            ::open(target_path.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (target_dir.get() < 0)
            return std::unexpected(base::error_from_errno(errno, "open " + target_path.string()));
        auto content = m_options.inspector->inspect(
            target_dir.get(), name, DatabaseAccess::immutable, m_options.integrity_check);
        if (!content)
            return std::unexpected(content.error());
        return transport::DatabaseDigest{std::move(content->digest), std::move(content->integrity)};
    }

    void compare_database(const std::string& path) {
        const std::string parent = base::parent_rel(path);
        const std::string name(base::base_name(path));
        auto source_dir = m_source.open_directory(parent);
        if (!source_dir) {
            add(DifferenceKind::unreadable, path, source_dir.error().message, "");
            return;
        }
        auto source =
            m_options.inspector->inspect(source_dir->get(), name, DatabaseAccess::live, false);
        if (!source) {
            if (source.error().kind != base::ErrorKind::not_found) // gone meanwhile: skipped
                add(DifferenceKind::unreadable, path, source.error().message, "");
            return;
        }
        auto target = inspect_target_database(path, parent, name);
        if (!target) {
            if (target.error().native_code == ENOTSUP) {
                // The SFTP fallback of an SSH target cannot run the helper remotely.
                ++m_result.databases_not_compared;
                return;
            }
            add(target.error().kind == base::ErrorKind::not_found ? DifferenceKind::content
                                                                  : DifferenceKind::unreadable,
                path, source->digest, target.error().message);
            return;
        }
        ++m_result.databases_compared;
        if (source->digest != target->digest)
            add(DifferenceKind::content, path, source->digest, target->digest);
        if (target->integrity && *target->integrity != "ok")
            add(DifferenceKind::integrity, path, "", *target->integrity);
    }

    // `ns` as the target stores it: rounded down to its time resolution (whole seconds over
    // SFTP), as TreeMirror compares.
    std::int64_t at_granularity(std::int64_t ns) const {
        const std::int64_t granularity = m_target.mtime_granularity_ns();
        if (granularity <= 1)
            return ns;
        auto remainder = ns % granularity;
        if (remainder < 0)
            remainder += granularity;
        return ns - remainder;
    }

    void hash_pending() {
        if (m_hash_jobs.empty())
            return;
        WorkerPool pool(std::max(1u, m_options.workers));
        for (const auto& job : m_hash_jobs)
            pool.submit([this, job] { hash_one(job); });
        pool.wait_idle();
    }

    void hash_one(const HashJob& job) {
        {
            std::lock_guard lock(m_mutex);
            if (m_hash_unsupported)
                return;
        }
        auto fd = m_source.open_file(job.path);
        if (!fd) {
            if (fd.error().kind != base::ErrorKind::not_found)
                add(DifferenceKind::unreadable, job.path, fd.error().message, "");
            return;
        }
        auto source_digest = transport::hash_file_content(fd->get(), "/" + job.path);
        if (!source_digest) {
            add(DifferenceKind::unreadable, job.path, source_digest.error().message, "");
            return;
        }
        auto target_digest = m_target.hash_file(job.path);
        if (!target_digest) {
            if (target_digest.error().native_code == ENOTSUP) {
                std::lock_guard lock(m_mutex);
                if (!m_hash_unsupported)
                    m_hash_unsupported = target_digest.error();
                return;
            }
            if (target_digest.error().kind != base::ErrorKind::not_found)
                add(DifferenceKind::unreadable, job.path, "", target_digest.error().message);
            return;
        }
        {
            std::lock_guard lock(m_mutex);
            ++m_result.files_hashed;
            m_result.bytes_hashed += job.size;
        }
        if (*source_digest != *target_digest)
            add(DifferenceKind::content, job.path, "xxh3:" + transport::to_hex(*source_digest),
                "xxh3:" + transport::to_hex(*target_digest));
    }

    const SourceTree& m_source;
    transport::Transport& m_target;
    const ExcludeFilter& m_excludes;
    const TreeCompareOptions& m_options;
    std::mutex m_mutex; // guards m_result once hashing runs on the pool
    TreeComparison m_result;
    std::vector<HashJob> m_hash_jobs;
    std::vector<std::string> m_database_jobs;
    std::optional<base::Error> m_hash_unsupported; // guarded by m_mutex
};

} // namespace

base::Result<TreeComparison> compare_trees(const SourceTree& source, transport::Transport& target,
                                           const ExcludeFilter& excludes,
                                           const TreeCompareOptions& options) {
    return Comparer(source, target, excludes, options).run();
}

const char* to_string(DifferenceKind kind) {
    switch (kind) {
    case DifferenceKind::missing:
        return "missing";
    case DifferenceKind::extra:
        return "extra";
    case DifferenceKind::type:
        return "type";
    case DifferenceKind::size:
        return "size";
    case DifferenceKind::content:
        return "content";
    case DifferenceKind::mode:
        return "mode";
    case DifferenceKind::mtime:
        return "mtime";
    case DifferenceKind::owner:
        return "owner";
    case DifferenceKind::symlink_target:
        return "symlink";
    case DifferenceKind::unreadable:
        return "unreadable";
    case DifferenceKind::integrity:
        return "integrity";
    }
    return "unknown";
}

std::string format_difference(const Difference& difference) {
    const std::string path = "/" + difference.path;
    const char* kind = to_string(difference.kind);
    switch (difference.kind) {
    case DifferenceKind::missing:
        return fmt::format("{} {} ({})", kind, path, difference.source);
    case DifferenceKind::extra:
        return fmt::format("{} {} ({})", kind, path, difference.target);
    case DifferenceKind::unreadable:
        return fmt::format("{} {}: {}", kind, path,
                           difference.source.empty() ? difference.target : difference.source);
    case DifferenceKind::symlink_target:
        return fmt::format("{} {}: '{}' on the source, '{}' on the target", kind, path,
                           difference.source, difference.target);
    case DifferenceKind::integrity:
        return fmt::format("{} {}: PRAGMA integrity_check on the target says: {}", kind, path,
                           difference.target);
    default:
        break;
    }
    return fmt::format("{} {}: {} on the source, {} on the target", kind, path, difference.source,
                       difference.target);
}

} // namespace fsmirror::engine
