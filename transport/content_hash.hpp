#pragma once
// File content digests for `verify --checksum` and drift repair: XXH3-128, fast enough that
// hashing is bound by the disk, and wide enough that a collision is not a practical concern.

#include "base/error.hpp"

#include <cstdint>
#include <string>

namespace fsmirror::transport {

struct ContentDigest {
    std::uint64_t high = 0;
    std::uint64_t low = 0;
    bool operator==(const ContentDigest&) const = default;
};

// Returns the digest as 32 lowercase hex digits.
std::string to_hex(const ContentDigest& digest);

// Returns the digest of everything `fd` holds, read from offset 0 (the file offset is left
// alone). `display` names the file in errors.
base::Result<ContentDigest> hash_file_content(int fd, const std::string& display);

} // namespace fsmirror::transport
