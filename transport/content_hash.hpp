#pragma once
// xxh3-128 content hashes: both ends of a transfer hash what they read and what they wrote, so
// a delta applied to the wrong basis or a corrupted stream is caught before the rename; and
// `verify --checksum` and drift repair compare a source file with its copy by these digests
// (for an SSH target the agent hashes its side, so the data never crosses the network).

#include "base/error.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace fsmirror::transport {

using ContentDigest = std::array<std::uint8_t, 16>;

class ContentHasher {
public:
    ContentHasher();
    ~ContentHasher();
    ContentHasher(ContentHasher&&) noexcept;
    ContentHasher& operator=(ContentHasher&&) noexcept;

    void update(std::string_view bytes);

    // Returns the digest of everything passed to update() so far.
    ContentDigest digest() const;

private:
    struct State;
    std::unique_ptr<State> m_state;
};

// Returns the digest of the whole file `fd` (read with pread from offset 0; the file offset is
// left alone).
base::Result<ContentDigest> hash_file(int fd);

// The same, with `display` naming the file in errors.
base::Result<ContentDigest> hash_file_content(int fd, const std::string& display);

// Returns the XXH3-64 of `bytes`: the hash both ends of a segments transfer compare per segment
// (a collision is caught by the content hash of the whole file, checked before the rename).
std::uint64_t segment_hash(std::string_view bytes);

// Returns the digest as 32 hex digits, for messages.
std::string to_hex(const ContentDigest& digest);

} // namespace fsmirror::transport
