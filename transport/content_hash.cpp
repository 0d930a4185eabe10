#include "transport/content_hash.hpp"

#include <cerrno>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include <unistd.h>
#include <xxhash.h>

namespace fsmirror::transport {

namespace {

constexpr std::size_t k_read_size = 1 << 20;

struct StateDeleter {
    void operator()(XXH3_state_t* state) const { XXH3_freeState(state); }
};

} // namespace

std::string to_hex(const ContentDigest& digest) {
    return fmt::format("{:016x}{:016x}", digest.high, digest.low);
}

base::Result<ContentDigest> hash_file_content(int fd, const std::string& display) {
    std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
    if (!state || XXH3_128bits_reset(state.get()) != XXH_OK)
        return base::fail(base::ErrorKind::fatal, "cannot start a hash of " + display);
    std::vector<char> buffer(k_read_size);
    off_t offset = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buffer.data(), buffer.size(), offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return base::fail_errno("read " + display);
        }
        if (n == 0)
            break;
        XXH3_128bits_update(state.get(), buffer.data(), static_cast<std::size_t>(n));
        offset += n;
    }
    XXH128_hash_t hash = XXH3_128bits_digest(state.get());
    return ContentDigest{hash.high64, hash.low64};
}

} // namespace fsmirror::transport
