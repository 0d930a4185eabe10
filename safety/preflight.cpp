#include "safety/preflight.hpp"

#include "safety/free_space.hpp"
#include "safety/mount_check.hpp"
#include "safety/path_checks.hpp"
#include "safety/tree_census.hpp"
#include "safety/watch_headroom.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace fsmirror::safety {

namespace fs = std::filesystem;

namespace {

fs::path canonical_or_lexical(const fs::path& path) {
    std::error_code ec;
    auto resolved = fs::weakly_canonical(path, ec);
    return ec ? path.lexically_normal() : resolved;
}

Finding fail(std::string check, const fs::path& path, std::string message, std::string fix) {
    return Finding{std::move(check), path.string(), Severity::error, std::move(message),
                   std::move(fix)};
}

Finding could_not_check(std::string check, const fs::path& path, const std::string& why) {
    return Finding{std::move(check), path.string(), Severity::warning,
                   "could not be checked: " + why, ""};
}

bool is_read_only_fs(const fs::path& path) {
    struct statvfs vfs {};
    return ::statvfs(path.c_str(), &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

// Returns whether `path` is a writable directory, or the finding that says why not.
std::optional<Finding> require_writable_directory(const std::string& check, const fs::path& path) {
    if (is_read_only_fs(path))
        return fail(check, path, "is on a read-only file system",
                    "remount it read-write or choose another target");
    if (::faccessat(AT_FDCWD, path.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
        return fail(check, path, fmt::format("is not writable: {}", std::strerror(errno)),
                    "fix its permissions or run fsmirror as a user who may write there");
    return std::nullopt;
}

// The source must be a readable directory. Returns false when the checks that walk it
// cannot run.
bool check_source(const fs::path& source, std::vector<Finding>& out) {
    struct stat st {};
    if (::stat(source.c_str(), &st) != 0) {
        out.push_back(fail("source", source,
                           fmt::format("cannot be read: {}", std::strerror(errno)),
                           "create it, mount the volume, or correct the source path"));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        out.push_back(fail("source", source, "is not a directory", "give a directory as source"));
        return false;
    }
    if (::faccessat(AT_FDCWD, source.c_str(), R_OK | X_OK, AT_EACCESS) != 0) {
        out.push_back(fail("source", source,
                           fmt::format("is not readable: {}", std::strerror(errno)),
                           "fix its permissions or run fsmirror as a user who may read it"));
        return false;
    }
    std::error_code ec;
    if (fs::is_empty(source, ec) && !ec) {
        out.push_back(Finding{"source", source.string(), Severity::warning,
                              "is empty: mirroring it would empty the target (the mass-delete "
                              "guard holds such deletions)",
                              "check that the source volume is mounted"});
        return true;
    }
    out.push_back(Finding{"source", source.string(), Severity::ok, "a readable directory", ""});
    return true;
}

// The target must be a writable directory, or not exist in a writable parent. Returns false
// when it is unusable.
bool check_target(const fs::path& target, std::vector<Finding>& out) {
    struct stat st {};
    if (::stat(target.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            out.push_back(fail("target", target, "is not a directory",
                               "give a directory (or a path to create) as target"));
            return false;
        }
        if (auto refused = require_writable_directory("target", target)) {
            out.push_back(*refused);
            return false;
        }
        out.push_back(Finding{"target", target.string(), Severity::ok, "a writable directory", ""});
        return true;
    }
    if (errno != ENOENT) {
        out.push_back(fail("target", target,
                           fmt::format("cannot be read: {}", std::strerror(errno)),
                           "fix its permissions or correct the target path"));
        return false;
    }
    const fs::path parent = target.parent_path();
    if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        out.push_back(
            fail("target", target,
                 fmt::format("does not exist and neither does its parent {}", parent.string()),
                 "create it (or mount the volume) first"));
        return false;
    }
    if (auto refused = require_writable_directory("target", parent)) {
        refused->message =
            "does not exist and its parent " + parent.string() + " " + refused->message;
        out.push_back(*refused);
        return false;
    }
    out.push_back(Finding{"target", target.string(), Severity::ok,
                          "does not exist yet; it will be created", ""});
    return true;
}

void check_mount(std::string_view role, const fs::path& path, std::vector<Finding>& out) {
    auto mounted = is_mount_point(path);
    if (!mounted) {
        out.push_back(fail(std::string(role) + "-mount", path, mounted.error().message,
                           fmt::format("mount the {} volume first", role)));
        return;
    }
    out.push_back(check_mount_point(role, path, *mounted));
}

Finding fits_on_file_system(const fs::path& target, const FileSystemUse& source_use,
                            const SpaceAvailable& available) {
    return Finding{"free-space", target.string(), Severity::ok,
                   fmt::format("the source's whole file system uses {} and {} inodes; {} free",
                               human_bytes(source_use.bytes), source_use.inodes,
                               human_bytes(available.bytes)),
                   ""};
}

} // namespace

bool PreflightReport::passed() const {
    return std::none_of(findings.begin(), findings.end(),
                        [](const Finding& f) { return f.severity == Severity::error; });
}

PreflightReport run_preflight(const PreflightRequest& request) {
    PreflightReport report;
    auto& out = report.findings;
    const fs::path source = canonical_or_lexical(request.source);
    const fs::path target = canonical_or_lexical(request.target);

    const bool source_ok = check_source(request.source, out);
    if (request.remote_target)
        out.push_back(Finding{"target", request.target.string(), Severity::ok,
                              "is on another machine: the checks that look at it (non-empty, "
                              "mount, free space) run over the connection",
                              ""});
    const bool target_ok = !request.remote_target && check_target(request.target, out);

    const auto refused =
        request.remote_target ? std::nullopt : check_source_target_paths(source, target);
    if (refused)
        out.push_back(fail("paths", request.target, *refused,
                           "give a dedicated target outside the source (never skipped, not even "
                           "by --skip-safety)"));
    else if (!request.remote_target)
        out.push_back(Finding{"paths", request.target.string(), Severity::ok,
                              "source and target do not overlap", ""});

    if (request.require_source_mount && source_ok)
        check_mount("source", request.source, out);
    if (request.require_target_mount && !request.remote_target)
        check_mount("target", request.target, out);

    TargetListing listing;
    if (target_ok) {
        if (auto read = read_target_listing(request.target, request.excluded)) {
            listing = std::move(*read);
            out.push_back(
                check_target_ownership(source, request.target, listing, request.non_empty));
        } else {
            out.push_back(fail("non-empty-target", request.target, read.error().message,
                               "fix the target's permissions"));
        }
    }

    // Walking the trees for watches and space means nothing for a pair that cannot be
    // mirrored at all (and walking "/" as a target would take minutes).
    if (!source_ok || refused)
        return report;
    // The free-space check needs the source's bytes only when the target could be short of
    // room. When what the source's whole file system uses fits in what the target has free,
    // the tree fits too (the estimate never exceeds the tree's own bytes), and the census
    // lists directories without reading a single file's size.
    const fs::path measured = listing.exists ? request.target : request.target.parent_path();
    std::optional<base::Result<SpaceAvailable>> available;
    if (target_ok)
        available = read_free_space(measured);
    const auto source_use = read_file_system_use(request.source);
    const bool bounded =
        available && *available && source_use && fits_within(*source_use, **available);
    const bool sizes_needed = target_ok && !bounded;
    // Nothing left to count for: a walk of a million directories costs seconds of start-up.
    if (!sizes_needed && request.watches == WatchCheck::no) {
        if (bounded)
            out.push_back(fits_on_file_system(request.target, *source_use, **available));
        return report;
    }
    const auto directory_limit = !sizes_needed && request.watches_unneeded_above
                                     ? *request.watches_unneeded_above
                                     : std::numeric_limits<std::uint64_t>::max();
    // Past the limit, fanotify is asked (once) whether it can watch the tree; if not, the
    // walk counts on for the watches inotify will need.
    auto census =
        take_census(request.source, RootMarker::count,
                    sizes_needed ? CensusDetail::sizes : CensusDetail::counts_only, directory_limit,
                    [&request] { return request.fanotify_usable && request.fanotify_usable(); });
    if (!census) {
        out.push_back(could_not_check("inotify-watches", request.source, census.error().message));
        return report;
    }
    report.directories_counted = census->directories;
    if (!census->complete) {
        out.push_back(Finding{"inotify-watches", request.source.string(), Severity::ok,
                              fmt::format("more than {} directories: fanotify watches the tree "
                                          "and needs no watches (not counted further)",
                                          directory_limit),
                              ""});
    } else {
        report.watches_needed = census->directories;
    }

    if (request.watches == WatchCheck::yes && census->complete) {
        if (auto limit = read_max_user_watches()) {
            WatchBudget budget{request.watches_planned + census->directories, *limit,
                               count_watches_in_use(::geteuid())};
            out.push_back(check_watch_headroom(request.source, budget));
        } else {
            out.push_back(
                could_not_check("inotify-watches", request.source, limit.error().message));
        }
    }

    if (!target_ok)
        return report;
    if (bounded) {
        out.push_back(fits_on_file_system(request.target, *source_use, **available));
        return report;
    }
    SpaceNeed need;
    need.source_bytes = census->bytes;
    need.largest_file = census->largest_file;
    need.source_entries = census->entries;
    need.parallel_transfers = request.parallel_transfers;
    if (listing.exists && (listing.entry_count > 0 || listing.marker != MarkerKind::none)) {
        if (auto existing = take_census(request.target, RootMarker::skip)) {
            need.target_bytes = existing->bytes;
            need.target_entries = existing->entries;
        }
    }
    if (*available)
        out.push_back(check_free_space(request.target, need, **available));
    else
        out.push_back(could_not_check("free-space", request.target, (*available).error().message));
    return report;
}

} // namespace fsmirror::safety
