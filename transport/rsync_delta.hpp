#pragma once
// librsync, wrapped once: signature, delta and patch jobs fed by buffers, so the same code
// serves a local file and an SSH channel. The flow for a changed file: the side holding the old
// copy computes a signature of it; the side holding the new content loads that signature and
// computes a delta; the old side applies the delta to its copy to produce the new file.
// No librsync type appears in this header.

#include "base/error.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace fsmirror::transport {

// Receives output produced by a job; returning an error stops the job.
using OutputSink = std::function<base::Status(std::string_view bytes)>;

// Returns the signature block length for a basis of `file_size` bytes, as rsync chooses it:
// about the square root of the size, a multiple of 8, at least 700 bytes and at most 128 KiB,
// so the signature of a large file stays small (about 20 bytes per block).
std::size_t signature_block_length(std::uint64_t file_size);

// Returns the strong checksum length for a signature of `file_size` bytes in blocks of
// `block_length`: the minimum librsync considers safe against random collisions.
std::size_t signature_strong_length(std::uint64_t file_size, std::size_t block_length);

// One librsync job (signature, delta or patch). Move-only; frees the job when destroyed.
class RsyncJob {
public:
    // Computes the signature of a basis file of `file_size` bytes fed to it.
    static RsyncJob signature(std::uint64_t file_size);

    // Applies a delta fed to it to the basis file `basis_fd` (read with pread, never moved),
    // producing the new content. The descriptor must stay open while the job runs. With a
    // window, the delta was made against the basis range [window_offset, window_offset +
    // window_length) alone (its positions are relative to the window's start).
    static RsyncJob patch(int basis_fd, std::uint64_t window_offset = 0,
                          std::uint64_t window_length = UINT64_MAX);

    RsyncJob(RsyncJob&&) noexcept;
    RsyncJob& operator=(RsyncJob&&) noexcept;
    ~RsyncJob();

    // Feeds `input` (`eof` when it is the last), passing everything produced to `sink`.
    // Returns true once the job has finished, false while it wants more input, or an error
    // (protocol for a corrupt stream, the sink's error when the sink failed).
    base::Result<bool> feed(std::string_view input, bool eof, const OutputSink& sink);

private:
    friend class DeltaSource;
    struct State;
    explicit RsyncJob(std::unique_ptr<State> state);
    std::unique_ptr<State> m_state;
};

// A loaded signature, ready to compute deltas against. Built by feeding the signature's bytes.
class DeltaSource {
public:
    DeltaSource();
    DeltaSource(DeltaSource&&) noexcept;
    DeltaSource& operator=(DeltaSource&&) noexcept;
    ~DeltaSource();

    // Feeds signature bytes (`eof` with the last ones). Returns an error for a corrupt
    // signature.
    base::Status load(std::string_view signature_bytes, bool eof);

    // Returns a job computing the delta of new content fed to it against the loaded signature,
    // or an error when the signature was not completely loaded. The job refers to this object,
    // which must outlive it.
    base::Result<RsyncJob> delta_job();

private:
    struct State;
    std::unique_ptr<State> m_state;
};

} // namespace fsmirror::transport
