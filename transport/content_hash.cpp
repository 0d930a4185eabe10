#include "transport/content_hash.hpp"

#include <cerrno>
#include <vector>

#include <fmt/format.h>

#include <unistd.h>
#include <xxhash.h>

namespace fsmirror::transport {

struct ContentHasher::State {
    XXH3_state_t* state = XXH3_createState();
    ~State() { XXH3_freeState(state); }
};

ContentHasher::ContentHasher() : m_state(std::make_unique<State>()) {
    XXH3_128bits_reset(m_state->state);
}
ContentHasher::~ContentHasher() = default;
ContentHasher::ContentHasher(ContentHasher&&) noexcept = default;
ContentHasher& ContentHasher::operator=(ContentHasher&&) noexcept = default;

std::uint64_t segment_hash(std::string_view bytes) {
    return XXH3_64bits(bytes.data(), bytes.size());
}

void ContentHasher::update(std::string_view bytes) {
    XXH3_128bits_update(m_state->state, bytes.data(), bytes.size());
}

ContentDigest ContentHasher::digest() const {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(m_state->state));
    ContentDigest out{};
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = canonical.digest[i];
    return out;
}

base::Result<ContentDigest> hash_file(int fd) {
    return hash_file_content(fd, "file");
}

base::Result<ContentDigest> hash_file_content(int fd, const std::string& display) {
    ContentHasher hasher;
    std::vector<char> buffer(256 * 1024);
    off_t offset = 0;
    for (;;) {
        ssize_t got = ::pread(fd, buffer.data(), buffer.size(), offset);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return base::fail_errno("read " + display + " for hashing");
        }
        if (got == 0)
            break;
        hasher.update(std::string_view(buffer.data(), static_cast<std::size_t>(got)));
        offset += got;
    }
    return hasher.digest();
}

std::string to_hex(const ContentDigest& digest) {
    std::string out;
    for (auto byte : digest)
        out += fmt::format("{:02x}", byte);
    return out;
}

} // namespace fsmirror::transport
