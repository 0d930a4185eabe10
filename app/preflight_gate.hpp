#pragma once
// An SSH target that was unreachable when `run` started has had none of its pre-flight checks
// (non-empty with the marker, require_mount, free space). This Transport decorator runs them,
// and writes the marker, once the target answers and before anything is written there: the
// first check_root() that reaches it, or else the first mutating call. A refusal is sticky: from
// then on check_root() and every write fail with the finding, so the session holds all changes
// in target_lost (logged, alerted) instead of writing to a directory it must not touch. Reads
// pass through: they change nothing.

#include "base/error.hpp"
#include "transport/transport.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace fsmirror::app {

class PreflightGate final : public transport::Transport {
public:
    // Runs the checks on the real target (and marks it) once it is reachable. Returns success
    // when writing may begin, a transient error when the target is still unreachable (asked
    // again later), any other error for a refusal whose message names the check, path and fix.
    using Checks = std::function<base::Status(transport::Transport& real)>;

    PreflightGate(std::unique_ptr<transport::Transport> real, Checks checks);

    // Runs the checks now unless they already ran; the result as Checks describes it.
    base::Status ensure_checked();

    std::string describe() const override;
    base::Status check_root() override;
    base::Result<std::optional<transport::EntryInfo>> stat(std::string_view path) override;
    std::vector<base::Result<std::optional<transport::EntryInfo>>>
    stat_many(const std::vector<std::string>& paths) override;
    base::Result<std::vector<transport::DirEntry>> list_directory(std::string_view path) override;
    base::Status make_directory(std::string_view path, const transport::EntryInfo& info) override;
    base::Result<transport::PutResult>
    put_file(std::string_view path, const transport::SourceFile& source,
             const std::optional<transport::EntryInfo>& existing) override;
    base::Status put_symlink(std::string_view path, const transport::EntryInfo& info) override;
    base::Status rename(std::string_view from, std::string_view to) override;
    base::Status remove(std::string_view path) override;
    base::Status set_attributes(std::string_view path, const transport::EntryInfo& info) override;
    base::Status flush() override;
    base::Result<transport::ContentDigest> hash_file(std::string_view path) override;
    base::Result<std::string> read_small_file(std::string_view path,
                                              std::size_t max_bytes) override;
    base::Result<transport::FileSystemInfo> file_system() override;
    base::Result<transport::DatabaseDigest> inspect_database(std::string_view path,
                                                             bool integrity_check) override;
    std::int64_t mtime_granularity_ns() const override;

private:
    // Runs `write` (a call on the real target) once the checks have passed, or returns their
    // failure without calling it.
    template <typename Write> auto after_checks(Write&& write) -> decltype(write()) {
        if (auto checked = ensure_checked(); !checked)
            return std::unexpected(checked.error());
        return write();
    }

    std::unique_ptr<transport::Transport> m_real;
    Checks m_checks;
    // Held while the checks run, so that concurrent workers wait for one verdict.
    std::mutex m_mutex;
    bool m_passed = false;
    std::optional<base::Error> m_refusal;
};

} // namespace fsmirror::app
