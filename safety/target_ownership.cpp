#include "safety/target_ownership.hpp"

#include "transport/temp_name.hpp"

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <sys/stat.h>

namespace fsmirror::safety {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t k_max_marker_bytes = 64 * 1024;

std::string list_sample(const TargetListing& listing) {
    std::string text;
    for (const auto& name : listing.sample)
        text += (text.empty() ? "" : ", ") + name;
    if (listing.entry_count > listing.sample.size())
        text += fmt::format(", ... {} more", listing.entry_count - listing.sample.size());
    return text;
}

std::string normal(const std::string& path) {
    auto text = fs::path(path).lexically_normal().string();
    while (text.size() > 1 && text.back() == '/')
        text.pop_back();
    return text;
}

// Keeps the first `sample_size` of `names`, sorted, as the listing's sample.
TargetListing finish_listing(TargetListing listing, std::vector<std::string> names,
                             std::size_t sample_size) {
    std::sort(names.begin(), names.end());
    if (names.size() > sample_size)
        names.resize(sample_size);
    listing.sample = std::move(names);
    return listing;
}

} // namespace

Finding check_target_ownership(const fs::path& source, const fs::path& target,
                               const TargetListing& listing, NonEmptyTarget policy) {
    Finding finding{"non-empty-target", target.string(), Severity::ok, "", ""};
    const std::string skip_hint =
        "pass --skip-safety (or set FSMIRROR_SKIP_SAFETY=true) to make it a mirror of " +
        source.string() +
        " anyway: whatever the source lacks will be deleted from it (see "
        "what would change first with --dry-run)";
    auto refuse = [&](std::string message, std::string fix) {
        finding.message = std::move(message);
        finding.fix = std::move(fix);
        switch (policy) {
        case NonEmptyTarget::refuse:
            finding.severity = Severity::error;
            break;
        case NonEmptyTarget::allow:
            finding.severity = Severity::warning;
            finding.message += " (allowed by --skip-safety)";
            finding.fix.clear();
            break;
        case NonEmptyTarget::report:
            finding.severity = Severity::warning;
            finding.message += " (a real run would refuse it)";
            break;
        }
        return finding;
    };

    if (!listing.exists) {
        finding.message = "does not exist yet; it will be created";
        return finding;
    }
    if (listing.marker == MarkerKind::file && !listing.marker_info.source.empty() &&
        normal(listing.marker_info.source) != normal(source.string()))
        return refuse(fmt::format("its {} marker says it mirrors {}, not {}",
                                  transport::k_marker_name, listing.marker_info.source,
                                  source.string()),
                      fmt::format("check source and target (two syncs into one target?); if "
                                  "the target really is to follow {} now, {}",
                                  source.string(), skip_hint));
    if (listing.marker == MarkerKind::unread_file) {
        finding.severity = Severity::warning;
        finding.message = fmt::format("carries a {} marker whose contents cannot be read over "
                                      "this connection (an fsmirror agent older than protocol 3 "
                                      "on the remote); taken as a mirror of {}",
                                      transport::k_marker_name, source.string());
        finding.fix = "upgrade fsmirror on the remote, so that the source the marker names is "
                      "checked";
        return finding;
    }
    if (listing.marker != MarkerKind::none) {
        finding.message =
            listing.marker == MarkerKind::directory
                ? fmt::format("marked as a mirror by a {}/ directory", transport::k_marker_name)
                : fmt::format("a mirror of {} (written by fsmirror before)", source.string());
        return finding;
    }
    if (listing.entry_count == 0) {
        finding.message = "empty";
        return finding;
    }
    return refuse(fmt::format("holds {} entr{} ({}) and no {} marker, so fsmirror did not "
                              "write it; mirroring would delete what the source lacks",
                              listing.entry_count, listing.entry_count == 1 ? "y" : "ies",
                              list_sample(listing), transport::k_marker_name),
                  "choose an empty or new target directory, or " + skip_hint);
}

base::Result<TargetListing> read_target_listing(const fs::path& target, const IgnoredEntry& ignored,
                                                std::size_t sample_size) {
    TargetListing listing;
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0) {
        if (errno == ENOENT)
            return listing;
        return base::fail_errno("stat " + target.string());
    }
    listing.exists = true;
    std::error_code ec;
    std::vector<std::string> names;
    for (fs::directory_iterator it(target, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        std::error_code type_ec;
        bool is_directory = it->is_directory(type_ec) && !it->is_symlink(type_ec);
        if (name == transport::k_marker_name) {
            if (is_directory) {
                listing.marker = MarkerKind::directory;
            } else {
                listing.marker = MarkerKind::file;
                std::ifstream in(it->path());
                std::string text(k_max_marker_bytes, '\0');
                in.read(text.data(), static_cast<std::streamsize>(text.size()));
                text.resize(static_cast<std::size_t>(in.gcount()));
                listing.marker_info = transport::parse_marker(text);
            }
            continue;
        }
        if (transport::is_temp_name(name) || (ignored && ignored(name, is_directory)))
            continue;
        // A freshly made ext2/3/4 file system holds an empty lost+found: no data of anybody's.
        if (name == "lost+found" && is_directory && fs::is_empty(it->path(), type_ec) && !type_ec)
            continue;
        ++listing.entry_count;
        names.push_back(is_directory ? name + "/" : name);
    }
    if (ec)
        return base::fail(base::error_kind_from_errno(ec.value()),
                          "read directory " + target.string() + ": " + ec.message(), ec.value());
    return finish_listing(std::move(listing), std::move(names), sample_size);
}

base::Result<TargetListing> read_target_listing(transport::Transport& target,
                                                const IgnoredEntry& ignored,
                                                std::size_t sample_size) {
    TargetListing listing;
    auto entries = target.list_directory("");
    if (!entries) {
        if (entries.error().kind == base::ErrorKind::not_found)
            return listing;
        return std::unexpected(entries.error());
    }
    listing.exists = true;
    std::vector<std::string> names;
    for (const auto& entry : *entries) {
        const bool is_directory = entry.info.type == transport::EntryType::directory;
        if (transport::is_marker_path(entry.name)) {
            if (is_directory) {
                listing.marker = MarkerKind::directory;
                continue;
            }
            listing.marker = MarkerKind::file;
            auto text = target.read_small_file(transport::k_marker_name, k_max_marker_bytes);
            if (!text && text.error().native_code == ENOTSUP) {
                listing.marker = MarkerKind::unread_file;
                continue;
            }
            if (!text)
                return std::unexpected(base::Error{
                    text.error().kind,
                    fmt::format("cannot read the {} marker of {}: {}", transport::k_marker_name,
                                target.describe(), text.error().message),
                    text.error().native_code});
            listing.marker_info = transport::parse_marker(*text);
            continue;
        }
        if (transport::is_temp_name(entry.name) || (ignored && ignored(entry.name, is_directory)))
            continue;
        if (entry.name == "lost+found" && is_directory) {
            auto inside = target.list_directory(entry.name);
            if (inside && inside->empty())
                continue;
        }
        ++listing.entry_count;
        names.push_back(is_directory ? entry.name + "/" : entry.name);
    }
    return finish_listing(std::move(listing), std::move(names), sample_size);
}

} // namespace fsmirror::safety
