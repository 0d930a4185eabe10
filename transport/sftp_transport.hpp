#pragma once
// The fallback when the remote has no fsmirror: the Transport operations over SFTP, one request
// at a time. Files are copied whole into a temporary name beside the final one and renamed into
// place (SFTP version 3 cannot replace atomically: where the server refuses to rename over an
// existing file, the old file is removed first, so the name is briefly absent but never shows a
// partial file). Limits of the protocol: times have whole-second resolution; symlinks keep the
// times the server gives them (SFTP changes what a symlink points to, never the link itself);
// paths are not protected against symlinks planted on the remote the way the agent's are (the
// remote user's permissions are the boundary); `fsync batch` cannot be honoured (file is, when
// the server offers fsync@openssh.com). Internal to transport/.

#include "base/logger.hpp"
#include "transport/local_transport.hpp"
#include "transport/remote_backend.hpp"
#include "transport/ssh_connection.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

struct _LIBSSH2_SFTP;
struct _LIBSSH2_SFTP_ATTRIBUTES;

namespace fsmirror::transport {

class SftpTransport final : public RemoteBackend {
public:
    // Opens the SFTP subsystem and checks `root` (creating it when missing and its parent
    // exists).
    static base::Result<std::unique_ptr<SftpTransport>>
    start(std::unique_ptr<SshConnection> connection, std::string root, AttributePolicy attributes,
          Durability durability, std::string description);
    ~SftpTransport() override;

    bool connected() const override { return !m_broken.load(); }
    std::string mode() const override { return "SFTP, whole files (no fsmirror on the remote)"; }
    std::int64_t mtime_granularity_ns() const override { return 1'000'000'000; }

    std::string describe() const override { return m_description; }
    base::Status check_root() override;
    base::Result<std::optional<EntryInfo>> stat(std::string_view path) override;
    base::Result<std::vector<DirEntry>> list_directory(std::string_view path) override;
    base::Status make_directory(std::string_view path, const EntryInfo& info) override;
    base::Result<PutResult> put_file(std::string_view path, const SourceFile& source,
                                     const std::optional<EntryInfo>& existing) override;
    base::Status put_symlink(std::string_view path, const EntryInfo& info) override;
    base::Status rename(std::string_view from, std::string_view to) override;
    base::Status remove(std::string_view path) override;
    base::Status set_attributes(std::string_view path, const EntryInfo& info) override;
    base::Status flush() override { return {}; }
    base::Result<std::string> read_small_file(std::string_view path,
                                              std::size_t max_bytes) override;
    // Free space through the statvfs@openssh.com extension (OpenSSH's sftp-server has it);
    // whether the root is a mount point cannot be asked over SFTP (RootMount::unknown).
    base::Result<FileSystemInfo> file_system() override;

private:
    SftpTransport(std::unique_ptr<SshConnection> connection, _LIBSSH2_SFTP* sftp, std::string root,
                  AttributePolicy attributes, Durability durability, std::string description);

    // The caller holds m_mutex in everything below.
    std::string full(std::string_view path) const;
    base::Error error(const std::string& context);
    base::Result<std::optional<EntryInfo>> lstat_full(const std::string& full_path);
    base::Result<std::vector<DirEntry>> read_directory(const std::string& full_path);
    base::Status ensure_directory(std::string_view path, std::uint32_t mode);
    base::Status ensure_parents(std::string_view path);
    base::Status remove_full(const std::string& full_path);
    base::Status rename_full(const std::string& from, const std::string& to);
    base::Status set_attributes_full(const std::string& full_path, const EntryInfo& info);
    void fill_attributes(_LIBSSH2_SFTP_ATTRIBUTES& attrs, const EntryInfo& info) const;
    void keepalive();

    std::unique_ptr<SshConnection> m_connection;
    _LIBSSH2_SFTP* m_sftp;
    std::string m_root;
    AttributePolicy m_attributes;
    Durability m_durability;
    std::string m_description;
    std::mutex m_mutex;                // one SFTP request at a time
    std::set<std::string> m_in_flight; // temp files being written, as full paths
    std::atomic<bool> m_broken{false};
};

} // namespace fsmirror::transport
