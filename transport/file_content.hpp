#pragma once
// Moving file data between two local descriptors: a whole copy through the kernel, or a block
// compare that writes only what differs (the local counterpart of a delta transfer).

#include "base/error.hpp"

#include <cstdint>

namespace fsmirror::transport {

// Copies all of `src_fd` (from offset 0 to EOF) into `dst_fd` (from offset 0), using
// copy_file_range (which reflinks where the file system can) and read/write as a fallback.
// Returns the number of bytes copied.
base::Result<std::uint64_t> copy_whole_file(int src_fd, int dst_fd);

// Makes `dst_fd`'s content equal to `src_fd`'s by comparing them block by block and writing
// only the blocks that differ, then truncating to the source's length. Returns the number of
// bytes written.
base::Result<std::uint64_t> write_changed_blocks(int src_fd, int dst_fd);

// Shares `src_fd`'s extents with `dst_fd` (FICLONE). Returns false where the file system
// cannot (ext4, across file systems); the caller then copies.
bool try_clone_file(int src_fd, int dst_fd);

} // namespace fsmirror::transport
