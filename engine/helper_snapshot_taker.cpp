// Runs `fsmirror sqlite-snapshot` in a child process for each snapshot.

#include "engine/helper_process.hpp"
#include "engine/snapshot_taker.hpp"

#include <fmt/format.h>

namespace fsmirror::engine {

namespace {

class HelperSnapshotTaker final : public SnapshotTaker {
public:
    explicit HelperSnapshotTaker(HelperOptions options) : m_options(std::move(options)) {}

    base::Status take(int dir_fd, const std::string& name,
                      const std::filesystem::path& output) override;

private:
    HelperOptions m_options;
};

} // namespace

base::ErrorKind error_kind_for_snapshot_status(int status) {
    switch (status) {
    case k_snapshot_busy:
        return base::ErrorKind::transient;
    case k_snapshot_not_database:
        return base::ErrorKind::not_found;
    case k_snapshot_no_space:
        return base::ErrorKind::no_space;
    case k_snapshot_permission:
        return base::ErrorKind::permission_denied;
    default:
        return base::ErrorKind::fatal;
    }
}

base::Status HelperSnapshotTaker::take(int dir_fd, const std::string& name,
                                       const std::filesystem::path& output) {
    // The database's directory becomes the helper's working directory, so the helper opens
    // the database by its bare name: the path was resolved beneath the source root without
    // following symlinks, and the helper refuses a symlinked name (SQLITE_OPEN_NOFOLLOW).
    auto ran = run_helper(m_options.program,
                          {"sqlite-snapshot", "--database", name, "--output", output.string(),
                           "--busy-timeout-ms", std::to_string(m_options.busy_timeout.count())},
                          dir_fd, m_options.time_limit, "the snapshot helper for " + name);
    if (!ran)
        return std::unexpected(ran.error());
    if (ran->signal != 0)
        return base::fail(base::ErrorKind::fatal,
                          fmt::format("snapshot helper for {} died of signal {}: {}", name,
                                      ran->signal, ran->output));
    if (ran->status == k_snapshot_ok)
        return {};
    std::string message = ran->output;
    if (message.empty())
        message = fmt::format("snapshot helper exited with status {}", ran->status);
    return base::fail(error_kind_for_snapshot_status(ran->status), message, ran->status);
}

std::unique_ptr<SnapshotTaker> make_helper_snapshot_taker(HelperOptions options) {
    return std::make_unique<HelperSnapshotTaker>(std::move(options));
}

} // namespace fsmirror::engine
