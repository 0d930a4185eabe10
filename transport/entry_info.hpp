#pragma once
// What a transport knows about one entry of a tree, on either side.

#include <cstdint>
#include <string>

namespace fsmirror::transport {

enum class EntryType : std::uint8_t { file, directory, symlink, other };

struct EntryInfo {
    EntryType type = EntryType::other;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0; // nanoseconds since the epoch
    std::uint32_t mode = 0;    // permission bits, 07777
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint64_t inode = 0; // on its own side's file system; for hard-link bookkeeping
    std::uint32_t link_count = 1;
    std::string link_target; // symlinks only
};

struct DirEntry {
    std::string name;
    EntryInfo info;
};

// Which attributes a transport carries from the source entry onto the target entry.
struct AttributePolicy {
    bool mode = true;
    bool times = true;
    bool owner = false;
};

const char* to_string(EntryType type);

} // namespace fsmirror::transport
