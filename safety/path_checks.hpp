#pragma once
// Pure predicates over source and target paths; they refuse setups that would mirror a tree
// into itself or write over the system.

#include <filesystem>
#include <optional>
#include <string>

namespace fsmirror::safety {

enum class Overlap {
    none,
    same,                 // source and target are one directory
    target_inside_source, // the mirror would mirror itself, forever
    source_inside_target, // mirroring would delete the source's siblings... and itself
};

// Classifies two absolute, lexically normal paths.
Overlap classify_overlap(const std::filesystem::path& source, const std::filesystem::path& target);

// True for "/" and the top-level system directories (/etc, /usr, /var, ...), which are never
// a valid target.
bool is_system_directory(const std::filesystem::path& path);

// Returns nullopt when `source` -> `target` may be mirrored, otherwise the reason, naming
// both paths and the fix.
std::optional<std::string> check_source_target_paths(const std::filesystem::path& source,
                                                     const std::filesystem::path& target);

} // namespace fsmirror::safety
