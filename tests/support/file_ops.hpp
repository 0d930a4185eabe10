#pragma once
// Small file-system actions tests perform on a source tree. Each throws std::system_error
// naming the path when the action fails: in a test, a failed setup step is a test failure.

#include <cstddef>
#include <ctime>
#include <filesystem>
#include <string>
#include <string_view>

#include <sys/types.h>

namespace fsmirror::test_support {

// Creates or truncates `path` and writes `content` (parents are not created).
void write_file(const std::filesystem::path& path, std::string_view content);

// Rewrites the bytes of an existing file in place (open without O_TRUNC, write, truncate to
// the new length), so the inode stays the same, as an editor saving in place would.
void overwrite_file(const std::filesystem::path& path, std::string_view content);

// Appends `content` to `path`, creating it when absent.
void append_file(const std::filesystem::path& path, std::string_view content);

// Returns the whole contents of `path`.
std::string read_file(const std::filesystem::path& path);
// The same, or "" when the file cannot be opened (a /proc entry of a process that is gone, a
// log not written yet).
std::string read_file_or_empty(const std::filesystem::path& path);

// Returns true when `path` is a regular file whose contents are exactly `content`; false when
// it is absent, unreadable or different (never throws: for polling).
bool file_has_content(const std::filesystem::path& path, std::string_view content);

// Returns `size` bytes of deterministic, non-repeating-looking data derived from `seed`.
std::string make_content(std::size_t size, unsigned seed);

// Sets the mtime (and atime) of `path` itself, not of what a symlink points to.
void set_mtime(const std::filesystem::path& path, struct timespec mtime);

// Returns the mtime of `path` itself (lstat).
struct timespec get_mtime(const std::filesystem::path& path);

// Returns a timespec for `seconds` + `nanoseconds`, for readable literals in tests.
struct timespec make_time(std::time_t seconds, long nanoseconds);

// Returns the inode number of `path` itself (lstat).
ino_t inode_of(const std::filesystem::path& path);

// Keeps a file open for its lifetime, so its inode number cannot be handed to a new file:
// without this, "same inode after rename" could pass by reuse when the daemon copied instead.
class HeldFile {
public:
    // Opens `path` read-only (not following a final symlink). Throws std::system_error.
    explicit HeldFile(const std::filesystem::path& path);
    ~HeldFile();
    HeldFile(const HeldFile&) = delete;
    HeldFile& operator=(const HeldFile&) = delete;

    // Returns the inode number of the open file.
    ino_t inode() const { return m_inode; }

private:
    int m_fd = -1;
    ino_t m_inode = 0;
};

// Returns the permission bits (& 07777) of `path` itself.
mode_t mode_of(const std::filesystem::path& path);

// chmod(2) with the exact bits given (setuid/setgid/sticky included).
void set_mode(const std::filesystem::path& path, mode_t mode);

// Creates a symlink at `link` whose stored value is `value`, verbatim (may dangle).
void make_symlink(const std::string& value, const std::filesystem::path& link);

// Returns true when `path` exists without following a final symlink.
bool exists_no_follow(const std::filesystem::path& path);

// Populates `root` (which must exist) with `n_dirs` directories named d000, d001, ... in
// chains of five (d000/d001/d002/d003/d004, then d005/...), and `n_files` files f000, ... of
// 0 to ~4 KiB spread round-robin over root and those directories, content derived from `seed`.
// Returns the number of entries created.
std::size_t make_tree(const std::filesystem::path& root, std::size_t n_dirs, std::size_t n_files,
                      unsigned seed = 1);

} // namespace fsmirror::test_support
