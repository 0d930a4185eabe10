#pragma once
// Moving file data between two local descriptors: a whole copy through the kernel, or a block
// compare that writes only what differs (the local counterpart of a delta transfer).

#include "base/error.hpp"

#include <cstdint>

namespace fsmirror::transport {

// Whether the destination of a copy is a file just created (so nothing beyond the copy can be
// left in it) or may hold older data that must be cut off.
enum class Destination { empty, may_hold_data };

// Copies all of `src_fd` (from offset 0) into `dst_fd` (from offset 0), using copy_file_range
// (which reflinks where the file system can) and read/write as a fallback. Stops once
// `expected_size` bytes (the size the caller just read with fstat) are copied: a file that grew
// since is modified, and its event brings it back. Returns the number of bytes copied.
base::Result<std::uint64_t> copy_whole_file(int src_fd, int dst_fd, std::uint64_t expected_size,
                                            Destination destination);

// Copies `length` bytes of `src_fd` at `src_offset` to `dst_fd` at `dst_offset` in the kernel
// (copy_file_range: shared extents on XFS and Btrfs, no user-space copy elsewhere), with
// pread/pwrite where the kernel cannot. Returns the bytes copied: fewer when `src_fd` ends first.
base::Result<std::uint64_t> copy_range(int src_fd, std::uint64_t src_offset, int dst_fd,
                                       std::uint64_t dst_offset, std::uint64_t length);

// Makes `dst_fd`'s content equal to `src_fd`'s by comparing them block by block and writing
// only the blocks that differ, then truncating to the source's length. Returns the number of
// bytes written.
base::Result<std::uint64_t> write_changed_blocks(int src_fd, int dst_fd);

// Shares `src_fd`'s extents with `dst_fd` (FICLONE). Returns false where the file system
// cannot (ext4, across file systems); the caller then copies.
bool try_clone_file(int src_fd, int dst_fd);

} // namespace fsmirror::transport
