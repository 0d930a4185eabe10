#pragma once
// A target directory on this machine. Every path is resolved beneath the target root without
// following symlinks, so a symlink on the target can never redirect a write outside it.

#include "base/unique_fd.hpp"
#include "transport/transport.hpp"

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <set>

namespace fsmirror::transport {

enum class WriteMode {
    replace, // write a temp file beside the target and rename it into place
    inplace, // update the existing file where it is (rsync --inplace)
};

enum class Durability {
    per_file,  // fsync each file before renaming it into place
    per_batch, // syncfs() once per flush()
    none,
};

struct LocalTransportOptions {
    std::filesystem::path root;
    AttributePolicy attributes;
    WriteMode write_mode = WriteMode::replace;
    Durability durability = Durability::per_batch;
    // Files at least this large that already exist on the target are updated by block
    // compare (in place, or on a reflinked clone); smaller ones are copied whole.
    std::uint64_t delta_threshold = 64 * 1024;
};

class LocalTransport final : public Transport {
public:
    // Opens the target root, which must exist and be a directory. Returns not_found otherwise.
    static base::Result<std::unique_ptr<LocalTransport>> open(LocalTransportOptions options);

    std::string describe() const override;
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
    base::Status flush() override;

private:
    LocalTransport(LocalTransportOptions options, base::UniqueFd root_fd, dev_t device,
                   ino_t inode);

    std::string display(std::string_view path) const;
    base::Status apply_attributes_fd(int fd, const EntryInfo& info, std::string_view path);
    base::Status apply_attributes_at(int dir_fd, const std::string& name, const EntryInfo& info,
                                     std::string_view path);
    base::Result<PutResult> update_in_place(int dir_fd, const std::string& name,
                                            const SourceFile& source, std::string_view path);
    base::Result<PutResult> write_via_temp(int dir_fd, const std::string& name,
                                           const SourceFile& source,
                                           const std::optional<EntryInfo>& existing,
                                           std::string_view path);

    // Temp files being written now, as "<parent>/<name>", so a listing removes only stale ones.
    void register_in_flight(const std::string& key);
    void unregister_in_flight(const std::string& key);
    bool is_in_flight(const std::string& key) const;

    LocalTransportOptions m_options;
    base::UniqueFd m_root_fd;
    dev_t m_root_device;
    ino_t m_root_inode;
    mode_t m_umask = 022;
    mutable std::mutex m_in_flight_mutex;
    std::set<std::string> m_in_flight;
};

} // namespace fsmirror::transport
