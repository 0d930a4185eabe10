#include "transport/sftp_transport.hpp"

#include "base/rel_path.hpp"
#include "transport/temp_name.hpp"

#include <cerrno>
#include <vector>

#include <fmt/format.h>
#include <libssh2.h>
#include <libssh2_sftp.h>

#include <unistd.h>

namespace fsmirror::transport {

namespace {

constexpr std::size_t k_buffer = 256 * 1024;
constexpr std::int64_t k_second = 1'000'000'000;

std::int64_t floor_seconds(std::int64_t ns) {
    return ns >= 0 ? ns / k_second : -((-ns + k_second - 1) / k_second);
}

const char* fx_name(unsigned long code) {
    switch (code) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH:
        return "no such file";
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_WRITE_PROTECT:
        return "permission denied";
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
        return "no space left on device";
    case LIBSSH2_FX_QUOTA_EXCEEDED:
        return "quota exceeded";
    case LIBSSH2_FX_FILE_ALREADY_EXISTS:
        return "file exists";
    case LIBSSH2_FX_DIR_NOT_EMPTY:
        return "directory not empty";
    case LIBSSH2_FX_NOT_A_DIRECTORY:
        return "not a directory";
    case LIBSSH2_FX_OP_UNSUPPORTED:
        return "operation not supported by the server";
    default:
        return "failure";
    }
}

base::ErrorKind fx_kind(unsigned long code) {
    switch (code) {
    case LIBSSH2_FX_NO_SUCH_FILE:
    case LIBSSH2_FX_NO_SUCH_PATH:
        return base::ErrorKind::not_found;
    case LIBSSH2_FX_PERMISSION_DENIED:
    case LIBSSH2_FX_WRITE_PROTECT:
        return base::ErrorKind::permission_denied;
    case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM:
    case LIBSSH2_FX_QUOTA_EXCEEDED:
        return base::ErrorKind::no_space;
    default:
        return base::ErrorKind::fatal;
    }
}

EntryInfo entry_from_attributes(const LIBSSH2_SFTP_ATTRIBUTES& attrs) {
    EntryInfo info;
    unsigned long type = attrs.permissions & LIBSSH2_SFTP_S_IFMT;
    if (type == LIBSSH2_SFTP_S_IFREG)
        info.type = EntryType::file;
    else if (type == LIBSSH2_SFTP_S_IFDIR)
        info.type = EntryType::directory;
    else if (type == LIBSSH2_SFTP_S_IFLNK)
        info.type = EntryType::symlink;
    else
        info.type = EntryType::other;
    info.size = attrs.filesize;
    info.mtime_ns = static_cast<std::int64_t>(attrs.mtime) * k_second;
    info.mode = static_cast<std::uint32_t>(attrs.permissions & 07777);
    info.uid = static_cast<std::uint32_t>(attrs.uid);
    info.gid = static_cast<std::uint32_t>(attrs.gid);
    return info;
}

} // namespace

base::Result<std::unique_ptr<SftpTransport>>
SftpTransport::start(std::unique_ptr<SshConnection> connection, std::string root,
                     AttributePolicy attributes, Durability durability, std::string description) {
    LIBSSH2_SFTP* sftp = libssh2_sftp_init(connection->session());
    if (sftp == nullptr)
        return std::unexpected(connection->error(base::ErrorKind::transient,
                                                 "cannot start SFTP on " + connection->name()));
    std::unique_ptr<SftpTransport> transport(new SftpTransport(std::move(connection), sftp,
                                                               std::move(root), attributes,
                                                               durability, std::move(description)));
    std::lock_guard lock(transport->m_mutex);
    auto root_info = transport->lstat_full(transport->m_root);
    if (!root_info)
        return std::unexpected(root_info.error());
    if (!*root_info) {
        const auto& path = transport->m_root;
        if (libssh2_sftp_mkdir_ex(sftp, path.c_str(), static_cast<unsigned>(path.size()), 0755) !=
            0)
            return std::unexpected(transport->error("create target directory " + path));
    } else if ((*root_info)->type != EntryType::directory) {
        return base::fail(base::ErrorKind::not_found,
                          "target " + transport->m_root + " is not a directory");
    }
    return transport;
}

SftpTransport::SftpTransport(std::unique_ptr<SshConnection> connection, _LIBSSH2_SFTP* sftp,
                             std::string root, AttributePolicy attributes, Durability durability,
                             std::string description)
    : m_connection(std::move(connection)), m_sftp(sftp), m_root(std::move(root)),
      m_attributes(attributes), m_durability(durability), m_description(std::move(description)) {}

SftpTransport::~SftpTransport() {
    libssh2_session_set_timeout(m_connection->session(), 2000);
    if (m_broken)
        m_connection->abandon();
    if (libssh2_sftp_shutdown(m_sftp) != 0) {
        m_connection->abandon();
        libssh2_sftp_shutdown(m_sftp);
    }
}

std::string SftpTransport::full(std::string_view path) const {
    if (path.empty())
        return m_root;
    return m_root + "/" + std::string(path);
}

base::Error SftpTransport::error(const std::string& context) {
    int code = libssh2_session_last_errno(m_connection->session());
    if (code == LIBSSH2_ERROR_SFTP_PROTOCOL) {
        unsigned long status = libssh2_sftp_last_error(m_sftp);
        return base::Error{fx_kind(status), context + ": " + fx_name(status),
                           static_cast<int>(status)};
    }
    // Anything but an SFTP status is the connection failing.
    m_broken = true;
    return m_connection->error(base::ErrorKind::transient, context);
}

void SftpTransport::keepalive() {
    int next = 0;
    if (libssh2_keepalive_send(m_connection->session(), &next) != 0)
        m_broken = true;
}

base::Result<std::optional<EntryInfo>> SftpTransport::lstat_full(const std::string& full_path) {
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    if (libssh2_sftp_stat_ex(m_sftp, full_path.c_str(), static_cast<unsigned>(full_path.size()),
                             LIBSSH2_SFTP_LSTAT, &attrs) != 0) {
        auto failure = error("stat " + full_path);
        if (failure.kind == base::ErrorKind::not_found)
            return std::optional<EntryInfo>{};
        return std::unexpected(failure);
    }
    EntryInfo info = entry_from_attributes(attrs);
    if (info.type == EntryType::symlink) {
        std::vector<char> target(4097);
        int length = libssh2_sftp_symlink_ex(
            m_sftp, full_path.c_str(), static_cast<unsigned>(full_path.size()), target.data(),
            static_cast<unsigned>(target.size()), LIBSSH2_SFTP_READLINK);
        if (length < 0)
            return std::unexpected(error("readlink " + full_path));
        info.link_target.assign(target.data(), static_cast<std::size_t>(length));
    }
    return std::optional<EntryInfo>(std::move(info));
}

base::Status SftpTransport::check_root() {
    std::lock_guard lock(m_mutex);
    keepalive();
    auto root = lstat_full(m_root);
    if (!root)
        return std::unexpected(root.error());
    if (!*root || (*root)->type != EntryType::directory)
        return base::fail(base::ErrorKind::not_found, "target directory " + m_root + " on " +
                                                          m_connection->name() + " is gone");
    return {};
}

base::Result<std::optional<EntryInfo>> SftpTransport::stat(std::string_view path) {
    if (!base::is_clean_rel(path))
        return base::fail(base::ErrorKind::protocol, "unsafe path '" + std::string(path) + "'");
    std::lock_guard lock(m_mutex);
    return lstat_full(full(path));
}

base::Result<std::string> SftpTransport::read_small_file(std::string_view path,
                                                         std::size_t max_bytes) {
    if (!base::is_clean_rel(path) || path.empty())
        return base::fail(base::ErrorKind::protocol, "unsafe path '" + std::string(path) + "'");
    std::lock_guard lock(m_mutex);
    const std::string full_path = full(path);
    // SFTP opens through symlinks; the lstat first keeps a symlink at the name from being read
    // (a swap in between is the remote user's own doing: see the header).
    auto info = lstat_full(full_path);
    if (!info)
        return std::unexpected(info.error());
    if (!*info || (*info)->type != EntryType::file)
        return base::fail(base::ErrorKind::not_found, full_path + " is not a regular file");
    LIBSSH2_SFTP_HANDLE* handle =
        libssh2_sftp_open_ex(m_sftp, full_path.c_str(), static_cast<unsigned>(full_path.size()),
                             LIBSSH2_FXF_READ, 0, LIBSSH2_SFTP_OPENFILE);
    if (handle == nullptr)
        return std::unexpected(error("open " + full_path));
    std::string text;
    std::vector<char> buffer(16 * 1024);
    for (;;) {
        ssize_t got = libssh2_sftp_read(handle, buffer.data(), buffer.size());
        if (got < 0) {
            auto failure = error("read " + full_path);
            libssh2_sftp_close_handle(handle);
            return std::unexpected(failure);
        }
        if (got == 0)
            break;
        text.append(buffer.data(), static_cast<std::size_t>(got));
        if (text.size() > max_bytes)
            break;
    }
    libssh2_sftp_close_handle(handle);
    if (text.size() > max_bytes)
        return base::fail(
            base::ErrorKind::limit_reached,
            fmt::format("{} is larger than the {} bytes expected", full_path, max_bytes));
    return text;
}

base::Result<FileSystemInfo> SftpTransport::file_system() {
    std::lock_guard lock(m_mutex);
    LIBSSH2_SFTP_STATVFS fs{};
    if (libssh2_sftp_statvfs(m_sftp, m_root.c_str(), m_root.size(), &fs) != 0)
        return std::unexpected(error("statvfs@openssh.com " + m_root));
    FileSystemInfo info;
    info.space.bytes_free = fs.f_bavail * fs.f_frsize;
    info.space.inodes_free = fs.f_favail;
    info.space.inodes_known = fs.f_files != 0;
    return info;
}

base::Result<std::vector<DirEntry>> SftpTransport::read_directory(const std::string& full_path) {
    LIBSSH2_SFTP_HANDLE* handle =
        libssh2_sftp_open_ex(m_sftp, full_path.c_str(), static_cast<unsigned>(full_path.size()), 0,
                             0, LIBSSH2_SFTP_OPENDIR);
    if (handle == nullptr)
        return std::unexpected(error("list " + full_path));
    std::vector<DirEntry> entries;
    std::vector<char> name(1024);
    base::Status status;
    for (;;) {
        LIBSSH2_SFTP_ATTRIBUTES attrs{};
        int length = libssh2_sftp_readdir_ex(handle, name.data(), name.size(), nullptr, 0, &attrs);
        if (length == 0)
            break;
        if (length < 0) {
            status = std::unexpected(error("list " + full_path));
            break;
        }
        DirEntry entry{std::string(name.data(), static_cast<std::size_t>(length)),
                       entry_from_attributes(attrs)};
        if (entry.name == "." || entry.name == "..")
            continue;
        // A name is one component: a broken or hostile server's "a/b" or "" would make later
        // operations (the removal of extras) reach past the entry listed.
        if (entry.name.empty() ||
            entry.name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
            status = base::fail(base::ErrorKind::protocol,
                                "list " + full_path + ": the server sent an invalid name");
            break;
        }
        entries.push_back(std::move(entry));
    }
    libssh2_sftp_close_handle(handle);
    if (!status)
        return std::unexpected(status.error());
    for (auto& entry : entries) {
        if (entry.info.type != EntryType::symlink)
            continue;
        auto link = lstat_full(full_path + "/" + entry.name);
        if (link && *link)
            entry.info = **link;
    }
    return entries;
}

base::Result<std::vector<DirEntry>> SftpTransport::list_directory(std::string_view path) {
    if (!base::is_clean_rel(path))
        return base::fail(base::ErrorKind::protocol, "unsafe path '" + std::string(path) + "'");
    std::lock_guard lock(m_mutex);
    keepalive();
    std::string directory = full(path);
    auto entries = read_directory(directory);
    if (!entries)
        return entries;
    std::vector<DirEntry> visible;
    for (auto& entry : *entries) {
        if (!is_temp_name(entry.name)) {
            visible.push_back(std::move(entry));
            continue;
        }
        std::string temp = directory + "/" + entry.name;
        if (!m_in_flight.contains(temp)) // left by a crash: ours to remove
            libssh2_sftp_unlink_ex(m_sftp, temp.c_str(), static_cast<unsigned>(temp.size()));
    }
    return visible;
}

base::Status SftpTransport::remove_full(const std::string& full_path) {
    auto info = lstat_full(full_path);
    if (!info)
        return std::unexpected(info.error());
    if (!*info)
        return {};
    if ((*info)->type == EntryType::directory) {
        auto entries = read_directory(full_path);
        if (!entries)
            return std::unexpected(entries.error());
        for (const auto& entry : *entries)
            if (auto removed = remove_full(full_path + "/" + entry.name); !removed)
                return removed;
        if (libssh2_sftp_rmdir_ex(m_sftp, full_path.c_str(),
                                  static_cast<unsigned>(full_path.size())) != 0)
            return std::unexpected(error("remove directory " + full_path));
        return {};
    }
    if (libssh2_sftp_unlink_ex(m_sftp, full_path.c_str(),
                               static_cast<unsigned>(full_path.size())) != 0) {
        auto failure = error("remove " + full_path);
        if (failure.kind != base::ErrorKind::not_found)
            return std::unexpected(failure);
    }
    return {};
}

base::Status SftpTransport::ensure_directory(std::string_view path, std::uint32_t mode) {
    std::string target = full(path);
    if (libssh2_sftp_mkdir_ex(m_sftp, target.c_str(), static_cast<unsigned>(target.size()),
                              static_cast<long>(mode)) == 0)
        return {};
    auto failure = error("create directory " + target);
    if (!connected())
        return std::unexpected(failure);
    auto existing = lstat_full(target);
    if (!existing)
        return std::unexpected(existing.error());
    if (*existing && (*existing)->type == EntryType::directory)
        return {};
    if (!*existing)
        return std::unexpected(failure); // a missing parent, or no permission
    if (auto removed = remove_full(target); !removed)
        return removed;
    if (libssh2_sftp_mkdir_ex(m_sftp, target.c_str(), static_cast<unsigned>(target.size()),
                              static_cast<long>(mode)) != 0)
        return std::unexpected(error("create directory " + target));
    return {};
}

base::Status SftpTransport::ensure_parents(std::string_view path) {
    std::string parent = base::parent_rel(path);
    if (parent.empty())
        return {};
    if (auto made = ensure_directory(parent, 0755); made)
        return {};
    if (auto grand = ensure_parents(parent); !grand)
        return grand;
    return ensure_directory(parent, 0755);
}

void SftpTransport::fill_attributes(LIBSSH2_SFTP_ATTRIBUTES& attrs, const EntryInfo& info) const {
    attrs.flags = 0;
    if (m_attributes.mode) {
        attrs.flags |= LIBSSH2_SFTP_ATTR_PERMISSIONS;
        attrs.permissions = info.mode & 07777;
    }
    if (m_attributes.times) {
        attrs.flags |= LIBSSH2_SFTP_ATTR_ACMODTIME;
        auto seconds = static_cast<unsigned long>(floor_seconds(info.mtime_ns));
        attrs.atime = seconds;
        attrs.mtime = seconds;
    }
    if (m_attributes.owner) {
        attrs.flags |= LIBSSH2_SFTP_ATTR_UIDGID;
        attrs.uid = info.uid;
        attrs.gid = info.gid;
    }
}

base::Status SftpTransport::set_attributes_full(const std::string& full_path,
                                                const EntryInfo& info) {
    // SFTP applies attributes to what a symlink points to, which may be outside the tree.
    if (info.type == EntryType::symlink)
        return {};
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    fill_attributes(attrs, info);
    if (attrs.flags == 0)
        return {};
    if (libssh2_sftp_stat_ex(m_sftp, full_path.c_str(), static_cast<unsigned>(full_path.size()),
                             LIBSSH2_SFTP_SETSTAT, &attrs) != 0)
        return std::unexpected(error("set attributes of " + full_path));
    return {};
}

base::Status SftpTransport::make_directory(std::string_view path, const EntryInfo& info) {
    if (!base::is_clean_rel(path))
        return base::fail(base::ErrorKind::protocol, "unsafe path '" + std::string(path) + "'");
    if (path.empty())
        return {};
    std::lock_guard lock(m_mutex);
    keepalive();
    if (auto made = ensure_directory(path, info.mode | 0700); !made) {
        if (made.error().kind != base::ErrorKind::not_found)
            return made;
        if (auto parents = ensure_parents(path); !parents)
            return parents;
        if (auto again = ensure_directory(path, info.mode | 0700); !again)
            return again;
    }
    return {};
}

base::Status SftpTransport::rename_full(const std::string& from, const std::string& to) {
    long flags =
        LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE;
    if (libssh2_sftp_rename_ex(m_sftp, from.c_str(), static_cast<unsigned>(from.size()), to.c_str(),
                               static_cast<unsigned>(to.size()), flags) == 0)
        return {};
    auto failure = error("rename " + from + " to " + to);
    if (!connected())
        return std::unexpected(failure);
    // SFTP version 3 servers refuse to rename over an existing entry.
    auto existing = lstat_full(to);
    if (!existing || !*existing)
        return std::unexpected(failure);
    if (auto removed = remove_full(to); !removed)
        return removed;
    if (libssh2_sftp_rename_ex(m_sftp, from.c_str(), static_cast<unsigned>(from.size()), to.c_str(),
                               static_cast<unsigned>(to.size()), flags) != 0)
        return std::unexpected(error("rename " + from + " to " + to));
    return {};
}

base::Result<PutResult> SftpTransport::put_file(std::string_view path, const SourceFile& source,
                                                const std::optional<EntryInfo>& existing) {
    if (!base::is_clean_rel(path) || path.empty())
        return base::fail(base::ErrorKind::protocol, "unsafe path '" + std::string(path) + "'");
    std::lock_guard lock(m_mutex);
    keepalive();
    std::string target = full(path);
    if (existing && existing->type == EntryType::directory) {
        if (auto removed = remove_full(target); !removed)
            return std::unexpected(removed.error());
    }
    std::string temp = full(base::join_rel(base::parent_rel(path), make_temp_name()));
    auto open_temp = [&] {
        return libssh2_sftp_open_ex(m_sftp, temp.c_str(), static_cast<unsigned>(temp.size()),
                                    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL |
                                        LIBSSH2_FXF_TRUNC,
                                    0600, LIBSSH2_SFTP_OPENFILE);
    };
    m_in_flight.insert(temp);
    LIBSSH2_SFTP_HANDLE* handle = open_temp();
    if (handle == nullptr) {
        auto failure = error("create " + temp);
        if (failure.kind == base::ErrorKind::not_found) {
            if (auto parents = ensure_parents(path); parents)
                handle = open_temp();
        }
        if (handle == nullptr) {
            m_in_flight.erase(temp);
            return std::unexpected(failure);
        }
    }
    auto abandon = [&](base::Error failure) -> base::Result<PutResult> {
        if (handle != nullptr)
            libssh2_sftp_close_handle(handle);
        if (connected())
            libssh2_sftp_unlink_ex(m_sftp, temp.c_str(), static_cast<unsigned>(temp.size()));
        m_in_flight.erase(temp);
        return std::unexpected(std::move(failure));
    };

    std::vector<char> buffer(k_buffer);
    std::uint64_t total = 0;
    for (;;) {
        ssize_t got = ::pread(source.fd, buffer.data(), buffer.size(), static_cast<off_t>(total));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return abandon(base::error_from_errno(errno, "read source of " + target));
        if (got == 0)
            break;
        std::size_t done = 0;
        while (done < static_cast<std::size_t>(got)) {
            auto written = libssh2_sftp_write(handle, buffer.data() + done,
                                              static_cast<std::size_t>(got) - done);
            if (written < 0)
                return abandon(error("write " + temp));
            done += static_cast<std::size_t>(written);
        }
        total += static_cast<std::uint64_t>(got);
    }
    LIBSSH2_SFTP_ATTRIBUTES attrs{};
    fill_attributes(attrs, source.info);
    if (attrs.flags != 0 && libssh2_sftp_fsetstat(handle, &attrs) != 0)
        return abandon(error("set attributes of " + temp));
    if (m_durability == Durability::per_file && libssh2_sftp_fsync(handle) != 0) {
        auto failure = error("fsync " + temp);
        if (failure.native_code != static_cast<int>(LIBSSH2_FX_OP_UNSUPPORTED))
            return abandon(failure);
    }
    if (libssh2_sftp_close_handle(handle) != 0) {
        handle = nullptr;
        return abandon(error("close " + temp));
    }
    handle = nullptr;
    if (auto renamed = rename_full(temp, target); !renamed)
        return abandon(renamed.error());
    m_in_flight.erase(temp);
    return PutResult{total, false};
}

base::Status SftpTransport::put_symlink(std::string_view path, const EntryInfo& info) {
    if (!base::is_clean_rel(path) || path.empty())
        return base::fail(base::ErrorKind::protocol, "unsafe path '" + std::string(path) + "'");
    std::lock_guard lock(m_mutex);
    keepalive();
    std::string target = full(path);
    auto existing = lstat_full(target);
    if (!existing)
        return std::unexpected(existing.error());
    if (*existing && (*existing)->type == EntryType::directory) {
        if (auto removed = remove_full(target); !removed)
            return removed;
    }
    std::string temp = full(base::join_rel(base::parent_rel(path), make_temp_name()));
    // libssh2 1.10 can report a failure (a status it misreads) for a symlink the server did
    // create, so success is judged by what is there afterwards.
    auto make_link = [&]() -> base::Status {
        if (libssh2_sftp_symlink_ex(m_sftp, info.link_target.c_str(),
                                    static_cast<unsigned>(info.link_target.size()), temp.data(),
                                    static_cast<unsigned>(temp.size()), LIBSSH2_SFTP_SYMLINK) == 0)
            return {};
        auto failure = error("create symlink " + target);
        if (!connected())
            return std::unexpected(failure);
        auto made = lstat_full(temp);
        if (made && *made && (*made)->type == EntryType::symlink &&
            (*made)->link_target == info.link_target)
            return {};
        return std::unexpected(failure);
    };
    if (auto linked = make_link(); !linked) {
        if (linked.error().kind != base::ErrorKind::not_found)
            return linked;
        if (auto parents = ensure_parents(path); !parents)
            return parents;
        if (auto again = make_link(); !again)
            return again;
    }
    if (auto renamed = rename_full(temp, target); !renamed) {
        libssh2_sftp_unlink_ex(m_sftp, temp.c_str(), static_cast<unsigned>(temp.size()));
        return renamed;
    }
    return {};
}

base::Status SftpTransport::rename(std::string_view from, std::string_view to) {
    if (!base::is_clean_rel(from) || from.empty() || !base::is_clean_rel(to) || to.empty())
        return base::fail(base::ErrorKind::protocol,
                          "unsafe rename '" + std::string(from) + "' -> '" + std::string(to) + "'");
    std::lock_guard lock(m_mutex);
    keepalive();
    auto existing = lstat_full(full(from));
    if (!existing)
        return std::unexpected(existing.error());
    if (!*existing)
        return base::fail(base::ErrorKind::not_found, "nothing to rename at " + full(from));
    if (auto parents = ensure_parents(to); !parents)
        return parents;
    return rename_full(full(from), full(to));
}

base::Status SftpTransport::remove(std::string_view path) {
    if (!base::is_clean_rel(path) || path.empty())
        return base::fail(base::ErrorKind::protocol,
                          "refusing to remove '" + std::string(path) + "'");
    std::lock_guard lock(m_mutex);
    keepalive();
    return remove_full(full(path));
}

base::Status SftpTransport::set_attributes(std::string_view path, const EntryInfo& info) {
    if (!base::is_clean_rel(path))
        return base::fail(base::ErrorKind::protocol, "unsafe path '" + std::string(path) + "'");
    std::lock_guard lock(m_mutex);
    keepalive();
    return set_attributes_full(full(path), info);
}

} // namespace fsmirror::transport
