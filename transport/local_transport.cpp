#include "transport/local_transport.hpp"

#include "base/rel_path.hpp"
#include "transport/file_content.hpp"
#include "transport/local_fs.hpp"
#include "transport/temp_name.hpp"

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace fsmirror::transport {

using base::fail;
using base::fail_errno;
using base::Result;
using base::Status;
using base::UniqueFd;

namespace {

// Which of chown and chmod an entry needs to get `info`'s owner and mode. `now` is what it has,
// or null when that was not looked at (then both run, as asked). chown and chmod each write the
// inode and its ctime even when nothing changes; the fstat that `now` costs writes nothing.
struct AttributeWrites {
    bool owner = false;
    bool mode = false;
};

AttributeWrites writes_needed(bool sets_owner, bool sets_mode, const EntryInfo& info,
                              const struct stat* now) {
    AttributeWrites writes;
    writes.owner = sets_owner && !(now && now->st_uid == info.uid && now->st_gid == info.gid);
    // chown clears set-id bits, which chmod then restores.
    writes.mode = sets_mode && (writes.owner || !now || (now->st_mode & 07777) != info.mode);
    return writes;
}

timespec to_timespec(std::int64_t ns) {
    return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

Status check_clean(std::string_view path) {
    if (!base::is_clean_rel(path))
        return fail(base::ErrorKind::protocol,
                    "refusing unsafe relative path '" + std::string(path) + "'");
    return {};
}

} // namespace

bool LocalTransport::durable_file(const SourceFile& source) const {
    return m_options.durability == Durability::per_file ||
           source.safety == FileSafety::atomic_and_durable;
}

Result<std::unique_ptr<LocalTransport>> LocalTransport::open(LocalTransportOptions options) {
    int fd = ::open(options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail_errno("open target directory " + options.root.string());
    UniqueFd root(fd);
    // Read once, while only one thread runs: umask() can only be read by setting it.
    mode_t mask = ::umask(022);
    ::umask(mask);
    struct stat st {};
    if (::fstat(root.get(), &st) != 0)
        return fail_errno("stat target directory " + options.root.string());
    auto transport = std::unique_ptr<LocalTransport>(
        new LocalTransport(std::move(options), std::move(root), st.st_dev, st.st_ino));
    transport->m_umask = mask;
    return transport;
}

LocalTransport::LocalTransport(LocalTransportOptions options, UniqueFd root_fd, dev_t device,
                               ino_t inode)
    : m_options(std::move(options)), m_root_fd(std::move(root_fd)), m_root_device(device),
      m_root_inode(inode) {}

std::string LocalTransport::describe() const {
    return "local:" + m_options.root.string();
}

std::string LocalTransport::display(std::string_view path) const {
    return base::absolute_in(m_options.root, path).string();
}

Status LocalTransport::check_root() {
    struct stat st {};
    if (::stat(m_options.root.c_str(), &st) != 0)
        return fail_errno("target directory " + m_options.root.string());
    if (st.st_dev == m_root_device && st.st_ino == m_root_inode)
        return {};
    // Another file system there is an unmounted volume's bare mount point (or a different
    // volume): writing into it would fill the wrong disk, so wait for ours to come back.
    if (st.st_dev != m_root_device || !S_ISDIR(st.st_mode))
        return fail(base::ErrorKind::not_found,
                    "target directory " + m_options.root.string() +
                        " was replaced or unmounted since fsmirror started");
    // The same file system, a new directory: removed and made again. Follow it (the caller
    // compares the whole tree, since the new one may be empty).
    int fd = ::open(m_options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fail_errno("open target directory " + m_options.root.string());
    UniqueFd root(fd);
    if (::fstat(root.get(), &st) != 0)
        return fail_errno("stat target directory " + m_options.root.string());
    if (st.st_dev != m_root_device)
        return fail(base::ErrorKind::not_found,
                    "target directory " + m_options.root.string() + " changed while reopened");
    m_root_fd = std::move(root);
    m_root_inode = st.st_ino;
    return {};
}

Result<std::optional<EntryInfo>> LocalTransport::stat(std::string_view path) {
    if (auto clean = check_clean(path); !clean)
        return std::unexpected(clean.error());
    if (path.empty())
        return stat_at(m_root_fd.get(), ".", display(path));
    auto parent = open_directory_beneath(m_root_fd.get(), base::parent_rel(path), display(path));
    if (!parent) {
        if (parent.error().kind == base::ErrorKind::not_found)
            return std::optional<EntryInfo>{};
        return std::unexpected(parent.error());
    }
    return stat_at(parent->get(), std::string(base::base_name(path)), display(path));
}

std::vector<Result<std::optional<EntryInfo>>>
LocalTransport::stat_many(const std::vector<std::string>& paths) {
    std::vector<Result<std::optional<EntryInfo>>> results;
    results.reserve(paths.size());
    // A batch's paths come grouped by directory (a storm writes many files into a few), so
    // keeping the last parent open saves an open and a close per path.
    std::string open_parent;
    std::optional<Result<UniqueFd>> parent;
    for (const auto& path : paths) {
        if (auto clean = check_clean(path); !clean || path.empty()) {
            results.push_back(stat(path));
            continue;
        }
        std::string parent_path = base::parent_rel(path);
        if (!parent || parent_path != open_parent) {
            open_parent = std::move(parent_path);
            parent = open_directory_beneath(m_root_fd.get(), open_parent, display(path));
        }
        if (!*parent) {
            if ((*parent).error().kind == base::ErrorKind::not_found)
                results.push_back(std::optional<EntryInfo>{});
            else
                results.push_back(std::unexpected((*parent).error()));
            continue;
        }
        results.push_back(
            stat_at((*parent)->get(), std::string(base::base_name(path)), display(path)));
    }
    return results;
}

Result<std::vector<DirEntry>> LocalTransport::list_directory(std::string_view path) {
    if (auto clean = check_clean(path); !clean)
        return std::unexpected(clean.error());
    auto dir = open_directory_beneath(m_root_fd.get(), path, display(path));
    if (!dir)
        return std::unexpected(dir.error());
    auto entries = list_directory_fd(dir->get(), display(path));
    if (!entries)
        return entries;
    std::vector<DirEntry> visible;
    visible.reserve(entries->size());
    for (auto& entry : *entries) {
        if (!is_temp_name(entry.name)) {
            visible.push_back(std::move(entry));
            continue;
        }
        // A temp file nobody is writing was left by a crash: it is ours to remove.
        if (m_options.stale_temps == StaleTemps::remove &&
            !is_in_flight(base::join_rel(path, entry.name)))
            ::unlinkat(dir->get(), entry.name.c_str(), 0);
    }
    return visible;
}

Status LocalTransport::make_directory(std::string_view path, const EntryInfo& info) {
    if (auto clean = check_clean(path); !clean)
        return clean;
    if (path.empty())
        return {};
    auto parent = make_directories_beneath(m_root_fd.get(), base::parent_rel(path), display(path));
    if (!parent)
        return std::unexpected(parent.error());
    std::string name(base::base_name(path));
    // Owner-writable while children are added; the final mode is set with the directory's times.
    mode_t mode = static_cast<mode_t>(info.mode | 0700);
    if (::mkdirat(parent->get(), name.c_str(), mode) == 0) {
        // mkdir applies the umask; only bits it took away need a chmod.
        if ((mode & m_umask) != 0 && ::fchmodat(parent->get(), name.c_str(), mode, 0) != 0)
            return fail_errno("chmod " + display(path));
        // The owner is ours, and the group ours or the parent's (set-group-ID): mostly right.
        struct stat made {};
        const bool looked = m_options.attributes.owner &&
                            ::fstatat(parent->get(), name.c_str(), &made, AT_SYMLINK_NOFOLLOW) == 0;
        if (writes_needed(m_options.attributes.owner, false, info, looked ? &made : nullptr)
                .owner &&
            ::fchownat(parent->get(), name.c_str(), info.uid, info.gid, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("chown " + display(path));
        return {};
    }
    if (errno != EEXIST)
        return fail_errno("create directory " + display(path));
    auto existing = stat_at(parent->get(), name, display(path));
    if (!existing)
        return std::unexpected(existing.error());
    if (*existing && (*existing)->type == EntryType::directory)
        return {};
    if (auto removed = remove_tree_at(parent->get(), name, display(path)); !removed)
        return removed;
    if (::mkdirat(parent->get(), name.c_str(), mode) != 0)
        return fail_errno("create directory " + display(path));
    return {};
}

Status LocalTransport::apply_attributes_fd(int fd, const EntryInfo& info, std::string_view path,
                                           CurrentAttributes current) {
    struct stat now {};
    const bool known = current == CurrentAttributes::look_up &&
                       (m_options.attributes.owner || m_options.attributes.mode) &&
                       ::fstat(fd, &now) == 0;
    const auto writes = writes_needed(m_options.attributes.owner, m_options.attributes.mode, info,
                                      known ? &now : nullptr);
    if (writes.owner && ::fchown(fd, info.uid, info.gid) != 0)
        return fail_errno("chown " + display(path));
    if (writes.mode && ::fchmod(fd, info.mode) != 0)
        return fail_errno("chmod " + display(path));
    if (m_options.attributes.times) {
        timespec times[2] = {{0, UTIME_OMIT}, to_timespec(info.mtime_ns)};
        if (::futimens(fd, times) != 0)
            return fail_errno("set times of " + display(path));
    }
    return {};
}

Status LocalTransport::apply_attributes_at(int dir_fd, const std::string& name,
                                           const EntryInfo& info, std::string_view path,
                                           CurrentAttributes current) {
    const bool sets_mode = m_options.attributes.mode && info.type != EntryType::symlink;
    struct stat now {};
    const bool known = current == CurrentAttributes::look_up &&
                       (m_options.attributes.owner || sets_mode) &&
                       ::fstatat(dir_fd, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0;
    const auto writes =
        writes_needed(m_options.attributes.owner, sets_mode, info, known ? &now : nullptr);
    if (writes.owner &&
        ::fchownat(dir_fd, name.c_str(), info.uid, info.gid, AT_SYMLINK_NOFOLLOW) != 0)
        return fail_errno("chown " + display(path));
    if (writes.mode && ::fchmodat(dir_fd, name.c_str(), info.mode, 0) != 0)
        return fail_errno("chmod " + display(path));
    if (m_options.attributes.times) {
        timespec times[2] = {{0, UTIME_OMIT}, to_timespec(info.mtime_ns)};
        if (::utimensat(dir_fd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
            return fail_errno("set times of " + display(path));
    }
    return {};
}

Result<UniqueFd> LocalTransport::prepare_file_parent(std::string_view path,
                                                     const std::optional<EntryInfo>* existing) {
    if (auto clean = check_clean(path); !clean || path.empty())
        return fail(base::ErrorKind::protocol,
                    "refusing to write a file at '" + std::string(path) + "'");
    auto parent = make_directories_beneath(m_root_fd.get(), base::parent_rel(path), display(path));
    if (!parent)
        return std::unexpected(parent.error());
    std::string name(base::base_name(path));
    std::optional<EntryInfo> found;
    if (existing != nullptr) {
        found = *existing;
    } else {
        auto looked = stat_at(parent->get(), name, display(path));
        if (!looked)
            return std::unexpected(looked.error());
        found = *looked;
    }
    if (found && found->type == EntryType::directory) {
        if (auto removed = remove_tree_at(parent->get(), name, display(path)); !removed)
            return std::unexpected(removed.error());
    }
    return parent;
}

Result<PutResult> LocalTransport::put_file(std::string_view path, const SourceFile& source,
                                           const std::optional<EntryInfo>& existing) {
    auto parent = prepare_file_parent(path, &existing);
    if (!parent)
        return std::unexpected(parent.error());
    bool existing_file = existing && existing->type == EntryType::file;
    if (m_options.write_mode == WriteMode::inplace && existing_file &&
        source.safety == FileSafety::per_policy)
        return update_in_place(parent->get(), std::string(base::base_name(path)), source, path);
    auto incoming = create_incoming(std::move(*parent), path,
                                    m_options.attributes.mode ? source.info.mode & 0777 : 0600);
    if (!incoming)
        return std::unexpected(incoming.error());
    auto written = write_via_temp(*incoming, source, existing_file ? existing : std::nullopt);
    if (!written)
        return written;
    if (!m_options.attributes.mode) {
        // As rsync --no-perms: a replaced file keeps its mode, a new one gets the source's
        // masked by the umask.
        mode_t mode = existing_file ? static_cast<mode_t>(existing->mode)
                                    : static_cast<mode_t>(source.info.mode & 0777 & ~m_umask);
        if (::fchmod(incoming->fd(), mode) != 0)
            return fail_errno("chmod " + display(path));
    }
    if (auto committed = commit_incoming(*incoming, source.info, durable_file(source)); !committed)
        return std::unexpected(committed.error());
    return written;
}

Result<PutResult> LocalTransport::update_in_place(int dir_fd, const std::string& name,
                                                  const SourceFile& source, std::string_view path) {
    int fd = ::openat(dir_fd, name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return fail_errno("open " + display(path));
    UniqueFd target(fd);
    auto written = write_changed_blocks(source.fd, target.get());
    if (!written)
        return std::unexpected(base::Error{written.error().kind,
                                           written.error().message + " " + display(path),
                                           written.error().native_code});
    if (auto attrs = apply_attributes_fd(target.get(), source.info, path); !attrs)
        return std::unexpected(attrs.error());
    if (durable_file(source) && ::fsync(target.get()) != 0)
        return fail_errno("fsync " + display(path));
    return PutResult{*written, true};
}

Result<PutResult> LocalTransport::write_via_temp(IncomingFile& incoming, const SourceFile& source,
                                                 const std::optional<EntryInfo>& existing) {
    if (existing && existing->size >= m_options.delta_threshold) {
        int old_fd = ::openat(incoming.m_directory.get(), incoming.m_name.c_str(),
                              O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (old_fd >= 0) {
            UniqueFd old(old_fd);
            if (try_clone_file(old.get(), incoming.fd())) {
                auto written = write_changed_blocks(source.fd, incoming.fd());
                if (!written)
                    return std::unexpected(written.error());
                return PutResult{*written, true};
            }
        }
    }
    // The temporary file was just created, empty (clone attempts that fail leave it so).
    auto copied = copy_whole_file(source.fd, incoming.fd(), source.info.size, Destination::empty);
    if (!copied)
        return std::unexpected(base::Error{
            copied.error().kind, copied.error().message + " to " + display(incoming.m_path),
            copied.error().native_code});
    return PutResult{*copied, false};
}

Result<UniqueFd> LocalTransport::open_file(std::string_view path) {
    if (auto clean = check_clean(path); !clean || path.empty())
        return fail(base::ErrorKind::protocol, "refusing to open '" + std::string(path) + "'");
    auto file = open_regular_file(path);
    if (!file)
        return std::unexpected(file.error());
    return std::move(file->first);
}

Result<std::pair<UniqueFd, struct stat>> LocalTransport::open_regular_file(std::string_view path) {
    // O_NONBLOCK: a FIFO in its place must not hang the opener.
    auto file = open_file_beneath(m_root_fd.get(), path, O_RDONLY | O_NONBLOCK, display(path));
    if (!file)
        return std::unexpected(file.error());
    struct stat st {};
    if (::fstat(file->get(), &st) != 0)
        return fail_errno("stat " + display(path));
    if (!S_ISREG(st.st_mode))
        return fail(base::ErrorKind::not_found, "not a regular file: " + display(path));
    return std::pair{std::move(*file), st};
}

Result<UniqueFd> LocalTransport::open_directory(std::string_view path) {
    if (auto clean = check_clean(path); !clean)
        return std::unexpected(clean.error());
    return open_directory_beneath(m_root_fd.get(), path, display(path));
}

Result<std::string> LocalTransport::read_small_file(std::string_view path, std::size_t max_bytes) {
    auto file = open_file(path);
    if (!file)
        return std::unexpected(file.error());
    std::string text(max_bytes + 1, '\0');
    std::size_t have = 0;
    while (have < text.size()) {
        const ssize_t got = ::read(file->get(), text.data() + have, text.size() - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return fail_errno("read " + display(path));
        if (got == 0)
            break;
        have += static_cast<std::size_t>(got);
    }
    if (have > max_bytes)
        return fail(base::ErrorKind::limit_reached, display(path) + " is larger than the " +
                                                        std::to_string(max_bytes) +
                                                        " bytes expected");
    text.resize(have);
    return text;
}

Result<FileSystemInfo> LocalTransport::file_system() {
    struct statvfs fs {};
    if (::fstatvfs(m_root_fd.get(), &fs) != 0)
        return fail_errno("statvfs " + m_options.root.string());
    FileSystemInfo info;
    info.space.bytes_free = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    info.space.inodes_free = fs.f_favail;
    info.space.inodes_known = fs.f_files != 0;
    return info;
}

Result<IncomingFile> LocalTransport::begin_incoming(std::string_view path) {
    auto parent = prepare_file_parent(path, nullptr);
    if (!parent)
        return std::unexpected(parent.error());
    return create_incoming(std::move(*parent), path);
}

Result<IncomingFile> LocalTransport::create_incoming(UniqueFd parent, std::string_view path,
                                                     mode_t permissions) {
    std::string temp = make_temp_name();
    std::string key = base::join_rel(base::parent_rel(path), temp);
    register_in_flight(key);
    // The descriptor O_CREAT returns is writable whatever `permissions` say.
    int fd =
        ::openat(parent.get(), temp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, permissions);
    if (fd < 0) {
        unregister_in_flight(key);
        return fail_errno("create temporary file in " + display(base::parent_rel(path)));
    }
    return IncomingFile(*this, std::move(parent), std::string(base::base_name(path)),
                        std::move(temp), std::move(key), std::string(path), UniqueFd(fd));
}

Status LocalTransport::commit_incoming(IncomingFile& file, const EntryInfo& info,
                                       bool force_durable) {
    const bool durable = force_durable || m_options.durability == Durability::per_file;
    if (!file.m_open)
        return fail(base::ErrorKind::fatal, "file " + display(file.m_path) + " already finished");
    auto finish = [&](Status status) {
        if (!status)
            file.abandon();
        return status;
    };
    if (auto attrs = apply_attributes_fd(file.fd(), info, file.m_path, CurrentAttributes::look_up);
        !attrs)
        return finish(attrs);
    if (durable && ::fsync(file.fd()) != 0)
        return finish(fail_errno("fsync " + display(file.m_path)));
    if (::renameat(file.m_directory.get(), file.m_temp.c_str(), file.m_directory.get(),
                   file.m_name.c_str()) != 0)
        return finish(fail_errno("rename into place " + display(file.m_path)));
    file.m_open = false;
    unregister_in_flight(file.m_key);
    if (durable) {
        // The rename itself is durable only once the directory is.
        UniqueFd dir(::openat(file.m_directory.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!dir.valid() || ::fsync(dir.get()) != 0)
            return fail_errno("fsync directory of " + display(file.m_path));
    }
    return {};
}

IncomingFile::IncomingFile(LocalTransport& owner, UniqueFd directory, std::string name,
                           std::string temp, std::string key, std::string path, UniqueFd fd)
    : m_owner(&owner), m_directory(std::move(directory)), m_name(std::move(name)),
      m_temp(std::move(temp)), m_key(std::move(key)), m_path(std::move(path)), m_fd(std::move(fd)) {
}

IncomingFile::IncomingFile(IncomingFile&& other) noexcept
    : m_owner(other.m_owner), m_directory(std::move(other.m_directory)),
      m_name(std::move(other.m_name)), m_temp(std::move(other.m_temp)),
      m_key(std::move(other.m_key)), m_path(std::move(other.m_path)), m_fd(std::move(other.m_fd)),
      m_open(std::exchange(other.m_open, false)) {}

IncomingFile::~IncomingFile() {
    abandon();
}

void IncomingFile::abandon() {
    if (!m_open)
        return;
    m_open = false;
    ::unlinkat(m_directory.get(), m_temp.c_str(), 0);
    m_owner->unregister_in_flight(m_key);
}

Status LocalTransport::put_symlink(std::string_view path, const EntryInfo& info) {
    if (auto clean = check_clean(path); !clean || path.empty())
        return fail(base::ErrorKind::protocol,
                    "refusing to write a symlink at '" + std::string(path) + "'");
    auto parent = make_directories_beneath(m_root_fd.get(), base::parent_rel(path), display(path));
    if (!parent)
        return std::unexpected(parent.error());
    std::string name(base::base_name(path));
    auto existing = stat_at(parent->get(), name, display(path));
    if (!existing)
        return std::unexpected(existing.error());
    if (*existing && (*existing)->type == EntryType::directory) {
        if (auto removed = remove_tree_at(parent->get(), name, display(path)); !removed)
            return removed;
    }
    std::string temp = make_temp_name();
    std::string key = base::join_rel(base::parent_rel(path), temp);
    register_in_flight(key);
    if (::symlinkat(info.link_target.c_str(), parent->get(), temp.c_str()) != 0) {
        unregister_in_flight(key);
        return fail_errno("create symlink " + display(path));
    }
    auto attrs = apply_attributes_at(parent->get(), temp, info, path);
    if (attrs && ::renameat(parent->get(), temp.c_str(), parent->get(), name.c_str()) != 0)
        attrs = fail_errno("rename into place " + display(path));
    if (!attrs)
        ::unlinkat(parent->get(), temp.c_str(), 0);
    unregister_in_flight(key);
    return attrs;
}

Status LocalTransport::rename(std::string_view from, std::string_view to) {
    if (auto clean = check_clean(from); !clean || from.empty())
        return fail(base::ErrorKind::protocol, "refusing to rename '" + std::string(from) + "'");
    if (auto clean = check_clean(to); !clean || to.empty())
        return fail(base::ErrorKind::protocol, "refusing to rename to '" + std::string(to) + "'");
    auto from_parent =
        open_directory_beneath(m_root_fd.get(), base::parent_rel(from), display(from));
    if (!from_parent)
        return std::unexpected(from_parent.error());
    std::string from_name(base::base_name(from));
    auto from_info = stat_at(from_parent->get(), from_name, display(from));
    if (!from_info)
        return std::unexpected(from_info.error());
    if (!*from_info)
        return fail(base::ErrorKind::not_found, "nothing to rename at " + display(from));
    auto to_parent = make_directories_beneath(m_root_fd.get(), base::parent_rel(to), display(to));
    if (!to_parent)
        return std::unexpected(to_parent.error());
    std::string to_name(base::base_name(to));
    if (::renameat(from_parent->get(), from_name.c_str(), to_parent->get(), to_name.c_str()) == 0)
        return {};
    if (errno != ENOTEMPTY && errno != EEXIST && errno != EISDIR && errno != ENOTDIR)
        return fail_errno("rename " + display(from) + " to " + display(to));
    // The source replaced something the target still holds in a different shape.
    if (auto removed = remove_tree_at(to_parent->get(), to_name, display(to)); !removed)
        return removed;
    if (::renameat(from_parent->get(), from_name.c_str(), to_parent->get(), to_name.c_str()) != 0)
        return fail_errno("rename " + display(from) + " to " + display(to));
    return {};
}

Status LocalTransport::remove(std::string_view path) {
    if (auto clean = check_clean(path); !clean || path.empty())
        return fail(base::ErrorKind::protocol, "refusing to remove '" + std::string(path) + "'");
    auto parent = open_directory_beneath(m_root_fd.get(), base::parent_rel(path), display(path));
    if (!parent) {
        if (parent.error().kind == base::ErrorKind::not_found)
            return {};
        return std::unexpected(parent.error());
    }
    return remove_tree_at(parent->get(), std::string(base::base_name(path)), display(path));
}

Status LocalTransport::set_attributes(std::string_view path, const EntryInfo& info) {
    if (auto clean = check_clean(path); !clean)
        return clean;
    if (path.empty())
        return apply_attributes_at(m_root_fd.get(), ".", info, path, CurrentAttributes::look_up);
    auto parent = open_directory_beneath(m_root_fd.get(), base::parent_rel(path), display(path));
    if (!parent)
        return std::unexpected(parent.error());
    return apply_attributes_at(parent->get(), std::string(base::base_name(path)), info, path,
                               CurrentAttributes::look_up);
}

Status LocalTransport::flush() {
    if (m_options.durability == Durability::per_batch && ::syncfs(m_root_fd.get()) != 0)
        return fail_errno("syncfs " + m_options.root.string());
    return {};
}

Result<ContentDigest> LocalTransport::hash_file(std::string_view path) {
    if (auto clean = check_clean(path); !clean || path.empty())
        return fail(base::ErrorKind::protocol, "refusing to hash '" + std::string(path) + "'");
    auto file = open_regular_file(path);
    if (!file)
        return std::unexpected(file.error());
    return hash_file_content(file->first.get(), display(path));
}

void LocalTransport::register_in_flight(const std::string& key) {
    std::lock_guard lock(m_in_flight_mutex);
    m_in_flight.insert(key);
}

void LocalTransport::unregister_in_flight(const std::string& key) {
    std::lock_guard lock(m_in_flight_mutex);
    m_in_flight.erase(key);
}

bool LocalTransport::is_in_flight(const std::string& key) const {
    std::lock_guard lock(m_in_flight_mutex);
    return m_in_flight.contains(key);
}

} // namespace fsmirror::transport
