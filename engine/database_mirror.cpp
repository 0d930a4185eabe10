#include "engine/database_mirror.hpp"

#include "base/rel_path.hpp"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <system_error>

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::engine {

namespace fs = std::filesystem;
using transport::EntryInfo;
using transport::EntryType;

namespace {

std::string shown(std::string_view path) {
    return "/" + std::string(path);
}

bool header_says_database(int fd) {
    std::array<unsigned char, k_sqlite_header_bytes> header{};
    const ssize_t got = ::pread(fd, header.data(), header.size(), 0);
    return got == static_cast<ssize_t>(header.size()) &&
           classify_header(header) != DatabaseFormat::not_database;
}

// Removes a file when it goes out of scope: a snapshot never outlives its delivery.
class RemoveOnExit {
public:
    explicit RemoveOnExit(fs::path path) : m_path(std::move(path)) {}
    ~RemoveOnExit() { ::unlink(m_path.c_str()); }
    RemoveOnExit(const RemoveOnExit&) = delete;
    RemoveOnExit& operator=(const RemoveOnExit&) = delete;

private:
    fs::path m_path;
};

std::string safe_file_name(const std::string& name) {
    std::string safe;
    for (char c : name) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        safe += plain ? c : '_';
    }
    if (safe.empty() || safe.front() == '.')
        safe.insert(safe.begin(), '_');
    return safe;
}

// True when `entry` is "<prefix><pid>" for a process that no longer runs (or this one: a
// directory a previous session of this process did not get to remove).
bool left_by_dead_process(const std::string& entry, const std::string& prefix) {
    if (!entry.starts_with(prefix) || entry.size() == prefix.size())
        return false;
    const std::string digits = entry.substr(prefix.size());
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9)
        return false;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (pid == ::getpid())
        return true;
    return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

} // namespace

DatabaseMirror::DatabaseMirror(const SourceTree& source, transport::Transport& target,
                               SnapshotTaker& taker, base::Logger& logger,
                               DatabaseMirrorOptions options, DatabaseCounters& counters)
    : m_source(source), m_target(target), m_taker(taker), m_logger(logger),
      m_options(std::move(options)), m_counters(counters) {}

bool DatabaseMirror::may_be_database(std::string_view path) const {
    return m_options.paths.empty() || m_options.paths.is_excluded(path, EntryKind::file);
}

bool DatabaseMirror::is_database(std::string_view path) const {
    if (path.empty() || !may_be_database(path))
        return false;
    auto fd = m_source.open_file(path);
    return fd && header_says_database(fd->get());
}

bool DatabaseMirror::is_database(std::string_view path, int fd) const {
    return may_be_database(path) && header_says_database(fd);
}

bool DatabaseMirror::is_excluded(std::string_view database) const {
    return m_options.excludes != nullptr &&
           m_options.excludes->is_excluded(database, EntryKind::file);
}

std::optional<Companion> DatabaseMirror::database_of(std::string_view path) const {
    auto companion = companion_of(path);
    if (!companion || !is_database(companion->database))
        return std::nullopt;
    return companion;
}

fs::path DatabaseMirror::next_snapshot_path() {
    return m_options.snapshot_directory /
           fmt::format("snapshot-{}.sqlite", m_sequence.fetch_add(1) + 1);
}

base::Result<transport::PutResult>
DatabaseMirror::mirror(std::string_view path, const EntryInfo& source_info,
                       const std::optional<EntryInfo>& existing) {
    const auto failed = [&](const base::Error& error) {
        if (error.kind != base::ErrorKind::not_found)
            m_counters.snapshot_failures.fetch_add(1, std::memory_order_relaxed);
        return std::unexpected(
            base::Error{error.kind, fmt::format("snapshot of {}: {}", shown(path), error.message),
                        error.native_code});
    };
    auto dir = m_source.open_directory(base::parent_rel(path));
    if (!dir)
        return failed(dir.error());
    // Checked (and made) for every snapshot: cheap next to one, and a temp cleaner such as
    // systemd-tmpfiles may have removed it since.
    if (auto ready = ensure_snapshot_directory(m_options.snapshot_directory); !ready)
        return failed(ready.error());
    const fs::path output = next_snapshot_path();
    const RemoveOnExit cleanup(output);
    if (auto taken = m_taker.take(dir->get(), std::string(base::base_name(path)), output); !taken)
        return failed(taken.error());

    base::UniqueFd snapshot(::open(output.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!snapshot.valid() || ::fstat(snapshot.get(), &st) != 0)
        return failed(base::error_from_errno(errno, "open " + output.string()));
    transport::SourceFile file{snapshot.get(), source_info,
                               transport::FileSafety::atomic_and_durable};
    file.info.type = EntryType::file;
    file.info.size = static_cast<std::uint64_t>(st.st_size);

    // The companions go before the new copy is renamed into place, never after. A reader
    // that opens the database in between finds our previous snapshot alone, which is complete
    // in itself (we never send a -wal). The other order would let it pair the new database
    // with a stale -wal, and SQLite applies any -wal whose frames check out against their own
    // header, whatever database they sit next to: that is corruption.
    if (auto removed = remove_target_companions(path); !removed)
        return failed(removed.error());
    auto put = m_target.put_file(path, file, existing);
    if (!put)
        return failed(put.error());
    m_counters.snapshots.fetch_add(1, std::memory_order_relaxed);
    m_counters.bytes_written.fetch_add(put->bytes_written, std::memory_order_relaxed);
    return put;
}

base::Status DatabaseMirror::remove_target_companions(std::string_view database) {
    for (CompanionKind kind : k_companion_kinds) {
        const std::string companion = companion_path(database, kind);
        auto info = m_target.stat(companion);
        if (!info)
            return std::unexpected(info.error());
        // A directory of that name is not SQLite's; leave it to the tree comparison.
        if (!*info || (*info)->type == EntryType::directory)
            continue;
        if (auto removed = m_target.remove(companion); !removed)
            return removed;
        m_logger.debug("removed stale {} from the target", shown(companion));
    }
    return {};
}

fs::path default_snapshot_root() {
    const char* tmpdir = std::getenv("TMPDIR");
    if (tmpdir != nullptr && tmpdir[0] == '/')
        return fs::path(tmpdir) / "fsmirror";
    return "/var/tmp/fsmirror";
}

namespace {

// Makes `directory` (mode 0700) unless it exists, and checks that it is a real directory of
// this user's: a shared /var/tmp must not let another user plant a symlink or read snapshots.
base::Status make_own_directory(const fs::path& directory) {
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST)
        return base::fail_errno("create the snapshot directory " + directory.string());
    struct stat st {};
    if (::lstat(directory.c_str(), &st) != 0)
        return base::fail_errno("snapshot directory " + directory.string());
    if (!S_ISDIR(st.st_mode))
        return base::fail(base::ErrorKind::fatal,
                          "snapshot directory " + directory.string() +
                              " is not a directory (a symlink is refused too)");
    if (st.st_uid != ::geteuid())
        return base::fail(base::ErrorKind::permission_denied,
                          fmt::format("snapshot directory {} belongs to user {}, not to this one "
                                      "({}); set sqlite.temp_dir to a directory of your own",
                                      directory.string(), st.st_uid, ::geteuid()));
    return {};
}

} // namespace

base::Status ensure_snapshot_directory(const fs::path& directory) {
    if (auto root = make_own_directory(directory.parent_path()); !root)
        return root;
    return make_own_directory(directory);
}

base::Result<fs::path> prepare_snapshot_directory(const fs::path& root,
                                                  const std::string& sync_name) {
    if (auto made = make_own_directory(root); !made)
        return std::unexpected(made.error());

    const std::string prefix = safe_file_name(sync_name) + ".";
    if (DIR* dir = ::opendir(root.c_str())) {
        std::vector<std::string> stale;
        while (const dirent* entry = ::readdir(dir)) {
            if (left_by_dead_process(entry->d_name, prefix))
                stale.emplace_back(entry->d_name);
        }
        ::closedir(dir);
        for (const auto& name : stale)
            remove_snapshot_directory(root / name);
    }

    return root / (prefix + std::to_string(::getpid()));
}

void remove_snapshot_directory(const fs::path& directory) {
    std::error_code ignored;
    fs::remove_all(directory, ignored);
}

} // namespace fsmirror::engine
