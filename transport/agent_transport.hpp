#pragma once
// The Transport operations carried to `fsmirror agent` over one AgentClient: each call is one
// request (or, for a file, a short stream of them), so calls from several threads are in flight
// together. A changed file is sent in segments: those whose hash matches the remote copy's at
// the same offset are copied there by the agent, runs of the others go as librsync deltas
// against the signature of their own range (an agent of protocol 2 gets one delta of the whole
// file); a new or small file is sent whole. Both ends hash the content, so a delta applied to a
// copy that changed in between is caught and the file is sent whole instead. Internal to
// transport/.

#include "transport/agent_client.hpp"
#include "transport/remote_backend.hpp"

#include <memory>
#include <optional>
#include <string>

namespace fsmirror::transport {

class AgentTransport final : public RemoteBackend {
public:
    // `description` names the target in messages ("ssh:backup@host:22:/srv/mirror").
    AgentTransport(std::unique_ptr<AgentClient> client, std::string description);

    bool connected() const override { return m_client->alive(); }
    std::string mode() const override;

    std::string describe() const override { return m_description; }
    base::Status check_root() override;
    base::Result<std::optional<EntryInfo>> stat(std::string_view path) override;
    std::vector<base::Result<std::optional<EntryInfo>>>
    stat_many(const std::vector<std::string>& paths) override;
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

    // Files at least this large that exist on the remote are sent as deltas.
    static constexpr std::uint64_t k_delta_threshold = 64 * 1024;
    // The segment a changed file is compared by; a file of fewer than two goes as one delta.
    static constexpr std::uint64_t k_segment_size = 1024 * 1024;
    // Stat requests stat_many() sends before it awaits their replies.
    static constexpr std::size_t k_stats_per_round = 1024;

private:
    // The error of an operation the session's protocol version lacks (an older fsmirror on the
    // remote), with native_code ENOTSUP as Transport's defaults; nullopt when it has it.
    std::optional<base::Error> too_old_for(std::uint32_t version, const std::string& what) const;
    base::Status simple(agent::RequestBody body);
    base::Result<PutResult> put_whole(std::string_view path, const SourceFile& source);
    base::Result<PutResult> put_segments(std::string_view path, const SourceFile& source);
    // The whole file as one delta against the remote copy's signature (protocol 2 agents).
    base::Result<PutResult> put_delta(std::string_view path, const SourceFile& source);

    std::unique_ptr<AgentClient> m_client;
    std::string m_description;
};

} // namespace fsmirror::transport
