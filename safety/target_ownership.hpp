#pragma once
// The non-empty-target check: fsmirror writes only into an empty directory or into one it
// has mirrored before (recognised by the `.fsmirror` marker naming the same source). Anything
// else is somebody's data, which a mirror would delete where the source lacks it.

#include "base/error.hpp"
#include "safety/finding.hpp"
#include "transport/target_marker.hpp"
#include "transport/transport.hpp"

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::safety {

enum class MarkerKind {
    none,
    file,      // written by fsmirror, names the source
    directory, // made by an operator: marks the target without naming a source
    // A file whose contents the connection cannot read (an fsmirror agent older than protocol
    // 3 on the remote): taken as this source's, as fsmirror did before it could read it.
    unread_file,
};

// What the target's root holds, as far as the check is concerned.
struct TargetListing {
    bool exists = false;
    std::size_t entry_count = 0;     // root entries other than the marker and temp files
    std::vector<std::string> sample; // a few of them, sorted, directories with a trailing '/'
    MarkerKind marker = MarkerKind::none;
    transport::MarkerInfo marker_info; // when the marker is a file
};

// How a non-empty, unmarked target is treated.
enum class NonEmptyTarget {
    refuse, // the default
    allow,  // --skip-safety / FSMIRROR_SKIP_SAFETY=true: the operator means it
    report, // --dry-run: nothing is written, so say it and show the plan
};

// Returns the finding of check "non-empty-target" for mirroring `source` into `target`.
// `source` is compared, canonical, with the source the marker names.
Finding check_target_ownership(const std::filesystem::path& source,
                               const std::filesystem::path& target, const TargetListing& listing,
                               NonEmptyTarget policy);

// True for a root entry the mirror leaves alone (an excluded name), which therefore does not
// make the target "non-empty". Arguments: the name, and whether it is a directory.
using IgnoredEntry = std::function<bool(std::string_view name, bool is_directory)>;

// Reads the target's root: up to `sample_size` entry names and the marker. Entries `ignored`
// accepts are left out, and so is an empty lost+found directory (a freshly made file system). A
// missing target is a listing with exists == false, not an error.
base::Result<TargetListing> read_target_listing(const std::filesystem::path& target,
                                                const IgnoredEntry& ignored = {},
                                                std::size_t sample_size = 5);

// The same for a target read through `target` (an SSH target): its root listed over the
// connection and the marker's contents read there. A root that is not there is a listing with
// exists == false.
base::Result<TargetListing> read_target_listing(transport::Transport& target,
                                                const IgnoredEntry& ignored = {},
                                                std::size_t sample_size = 5);

} // namespace fsmirror::safety
