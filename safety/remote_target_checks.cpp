#include "safety/remote_target_checks.hpp"

#include "safety/free_space.hpp"
#include "safety/mount_check.hpp"
#include "safety/tree_census.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

namespace fsmirror::safety {

namespace {

namespace fs = std::filesystem;

fs::path canonical_or_lexical(const fs::path& path) {
    std::error_code ec;
    auto resolved = fs::weakly_canonical(path, ec);
    return ec ? path.lexically_normal() : resolved;
}

Finding could_not_check(std::string check, const std::string& target, const std::string& why) {
    return Finding{std::move(check), target, Severity::warning, "could not be checked: " + why, ""};
}

Finding check_mount(const RemoteTargetRequest& request,
                    const base::Result<transport::FileSystemInfo>& info) {
    if (!info)
        return Finding{"target-mount", request.target, Severity::error,
                       "require_mount is set but whether the target is a mount point could not "
                       "be read on " +
                           request.host + ": " + info.error().message,
                       "make the target reachable, or drop require_mount for the target"};
    if (info->root_mount == transport::RootMount::unknown)
        return Finding{"target-mount", request.target, Severity::error,
                       "require_mount is set but cannot be checked on " + request.host +
                           ": without fsmirror there the target is reached over SFTP, which "
                           "cannot tell a mount point from a directory",
                       "install fsmirror on " + request.host +
                           " (or point --agent-path / agent_path at it), or drop require_mount "
                           "for the target"};
    Finding finding = check_mount_point("target", request.remote_path,
                                        info->root_mount == transport::RootMount::yes);
    finding.path = request.target;
    if (finding.severity == Severity::error)
        finding.fix += " on " + request.host;
    return finding;
}

// The estimate first assumes nothing of the source is on the target yet, and only when that
// does not fit walks the target over the connection (one listing per directory) to count what
// is there already: a restart of a mirror that nearly fills its disk is not refused, and a
// target with room to spare is not walked.
Finding check_space(const RemoteTargetRequest& request, transport::Transport& target,
                    const TargetListing& listing, const transport::FileSystemSpace& space) {
    auto census = take_census(request.source, RootMarker::count);
    if (!census)
        return could_not_check("free-space", request.target, census.error().message);
    SpaceNeed need;
    need.source_bytes = census->bytes;
    need.largest_file = census->largest_file;
    need.source_entries = census->entries;
    need.parallel_transfers = request.parallel_transfers;
    const SpaceAvailable available{space.bytes_free, space.inodes_free, space.inodes_known};
    Finding finding = check_free_space(request.target, need, available);
    if (finding.severity != Severity::error ||
        (listing.entry_count == 0 && listing.marker == MarkerKind::none))
        return finding;
    auto existing = take_census(target);
    if (!existing)
        return finding;
    need.target_bytes = existing->bytes;
    need.target_entries = existing->entries;
    return check_free_space(request.target, need, available);
}

} // namespace

bool RemoteTargetReport::passed() const {
    return std::none_of(findings.begin(), findings.end(),
                        [](const Finding& f) { return f.severity == Severity::error; });
}

RemoteTargetReport check_remote_target(const RemoteTargetRequest& request,
                                       transport::Transport& target) {
    RemoteTargetReport report;
    auto& out = report.findings;
    const fs::path source = canonical_or_lexical(request.source);

    auto listing = read_target_listing(target, request.excluded);
    if (listing) {
        report.listing = *listing;
        out.push_back(check_target_ownership(source, request.target, *listing, request.non_empty));
    } else {
        out.push_back(Finding{"non-empty-target", request.target, Severity::error,
                              "cannot be listed: " + listing.error().message,
                              "make the target reachable and readable for the SSH user"});
    }

    auto info = target.file_system();
    if (request.require_mount)
        out.push_back(check_mount(request, info));
    if (!info)
        out.push_back(could_not_check("free-space", request.target, info.error().message));
    else if (listing)
        out.push_back(check_space(request, target, *listing, info->space));
    return report;
}

} // namespace fsmirror::safety
