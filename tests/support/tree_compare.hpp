#pragma once
// Compares a source tree with its mirror the way a user would check one: every entry, its type,
// size, content, permission bits, nanosecond mtime and symlink target.

#include <filesystem>
#include <string>
#include <vector>

namespace fsmirror::test_support {

struct CompareOptions {
    // Compare mtimes of symlinks themselves (lstat). Off for targets whose file system cannot
    // set them.
    bool symlink_mtimes = true;
    // Compare mtimes of directories, the root included.
    bool directory_mtimes = true;
    // Paths relative to the roots ("cache", "sub/x.tmp") skipped on both sides together with
    // everything below them: excluded entries, and deliberately kept ones.
    std::vector<std::filesystem::path> ignored;
};

// Returns one human-readable line per difference, in path order, "" paths meaning the root:
//   "missing in target: a/b", "extra in target: x", "type differs: a (file vs symlink)",
//   "size differs: f (3 vs 5)", "content differs: f (first at byte 2)",
//   "mode differs: d (0755 vs 0700)", "mtime differs: f (1.000000001 vs 1.000000000)",
//   "symlink target differs: l ('x' vs 'y')", "cannot read: ..." (an error is a difference).
// The left value is the source's. The daemon's marker `.fsmirror` at the target's root is
// skipped. An empty vector means the trees are identical.
std::vector<std::string> compare_trees(const std::filesystem::path& source,
                                       const std::filesystem::path& target,
                                       const CompareOptions& options = {});

// Returns every entry below `root` whose file name looks like the daemon's temp files
// (".fsmirror-<anything>.tmp"), in sorted order. Entries vanishing during the walk are skipped.
std::vector<std::filesystem::path> find_temp_files(const std::filesystem::path& root);

// Returns true when `name` is a file name of the daemon's temp-file form.
bool is_temp_file_name(const std::string& name);

} // namespace fsmirror::test_support
