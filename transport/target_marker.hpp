#pragma once
// The `.fsmirror` marker at a target's root: it records which source the target mirrors, so a
// restarted daemon recognises its own mirror (and refuses somebody else's). The marker is
// fsmirror's metadata, never mirrored content: the engine neither copies a source entry of that
// name at the root nor deletes or reports the target's.

#include "base/rel_path.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace fsmirror::transport {

// The name of the marker, at the target root only. A file written by fsmirror, or a directory
// an operator made by hand (as Syncthing's `.stfolder`), which marks without naming a source.
inline constexpr std::string_view k_marker_name = ".fsmirror";

// True for the root-level path of the marker ("" parent, name `.fsmirror`).
inline bool is_marker_path(std::string_view relative_path) {
    return relative_path == k_marker_name;
}

// True for the marker and anything below a `.fsmirror` directory at the root: fsmirror's own,
// never mirrored, reported or deleted.
inline bool is_reserved_path(std::string_view relative_path) {
    return is_marker_path(relative_path) || base::is_same_or_under(relative_path, k_marker_name);
}

struct MarkerInfo {
    std::string source;    // the absolute source path the target mirrors ("" when not named)
    std::string sync_name; // the sync that wrote it, for messages
};

// Returns the text fsmirror writes into a marker file.
std::string format_marker(const MarkerInfo& info);

// Returns what a marker file's text says; lines other than `key=value` and `#` comments are
// ignored, so a hand-written or truncated marker still reads (with empty fields).
MarkerInfo parse_marker(std::string_view text);

} // namespace fsmirror::transport
