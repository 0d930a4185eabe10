#pragma once
// `--dry-run`: a Transport that answers reads from the real target and describes every write
// instead of doing it, so the engine plans exactly what it would do and the target stays byte-
// and mtime-identical. Directories it "made" read as empty, so the engine walks into them as it
// would for real.

#include "transport/transport.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace fsmirror::transport {

class DryRunTransport final : public Transport {
public:
    // Receives one line per action, e.g. "copy /a/b.txt (1234 bytes)". Called from the
    // engine's worker threads, one call at a time.
    using Report = std::function<void(const std::string& line)>;

    // `real` is the target to read from; null when it does not exist yet (everything reads as
    // absent and the root as an empty directory). `description` names it in logs.
    DryRunTransport(std::unique_ptr<Transport> real, std::string description,
                    AttributePolicy attributes, Report report);

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
    base::Result<ContentDigest> hash_file(std::string_view path) override;
    base::Result<std::string> read_small_file(std::string_view path,
                                              std::size_t max_bytes) override;
    base::Result<FileSystemInfo> file_system() override;
    base::Result<DatabaseDigest> inspect_database(std::string_view path,
                                                  bool integrity_check) override;
    std::int64_t mtime_granularity_ns() const override;

private:
    // The real entry at `path`, or nullopt when there is no real target.
    base::Result<std::optional<EntryInfo>> real_stat(std::string_view path);
    bool is_planned_directory(std::string_view path) const;
    void say(const std::string& line);

    std::unique_ptr<Transport> m_real;
    std::string m_description;
    AttributePolicy m_attributes;
    Report m_report;
    mutable std::mutex m_mutex;
    std::set<std::string, std::less<>> m_planned_directories; // made by this dry run
};

} // namespace fsmirror::transport
