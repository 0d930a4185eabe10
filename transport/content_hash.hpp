#pragma once
// xxh3-128 content hashes: both ends of a transfer hash what they read and what they wrote, so
// a delta applied to the wrong basis or a corrupted stream is caught before the rename.

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

// Returns the digest of the whole file `fd` (read with pread from offset 0).
base::Result<ContentDigest> hash_file(int fd);

// Returns the digest as 32 hex digits, for messages.
std::string to_hex(const ContentDigest& digest);

} // namespace fsmirror::transport
