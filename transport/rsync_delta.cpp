#include "transport/rsync_delta.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <mutex>
#include <string>

#include <librsync.h>

#include <unistd.h>

namespace fsmirror::transport {

namespace {

constexpr std::size_t k_min_block = 700;        // rsync's default block size
constexpr std::size_t k_max_block = 128 * 1024; // rsync's MAX_BLOCK_SIZE (protocol >= 30)
constexpr std::size_t k_output_buffer = 64 * 1024;
// A signature made with the Rabin-Karp rolling sum and BLAKE2 strong sums (librsync >= 2.2).
constexpr rs_magic_number k_magic = RS_RK_BLAKE2_SIG_MAGIC;

// librsync prints its own diagnostics to stderr by default; the errors it returns already say
// what failed, with the file's name added by the caller.
void quiet_librsync() {
    static std::once_flag once;
    std::call_once(once, [] { rs_trace_to(nullptr); });
}

base::Error rsync_error(rs_result result, const char* what) {
    return base::Error{base::ErrorKind::protocol,
                       std::string("librsync ") + what + ": " + rs_strerror(result),
                       static_cast<int>(result)};
}

// The part of a basis file a patch job reads.
struct BasisWindow {
    int fd = -1;
    std::uint64_t offset = 0;
    std::uint64_t length = UINT64_MAX;
};

// Copies basis data for a patch job with pread, so the descriptor's offset is never used.
rs_result copy_from_basis(void* opaque, rs_long_t pos, size_t* len, void** buf) {
    const auto& window = *static_cast<BasisWindow*>(opaque);
    if (pos < 0 || static_cast<std::uint64_t>(pos) >= window.length)
        return RS_INPUT_ENDED;
    std::size_t wanted = static_cast<std::size_t>(
        std::min<std::uint64_t>(*len, window.length - static_cast<std::uint64_t>(pos)));
    std::size_t done = 0;
    auto* out = static_cast<char*>(*buf);
    const auto start = static_cast<off_t>(window.offset + static_cast<std::uint64_t>(pos));
    while (done < wanted) {
        ssize_t got =
            ::pread(window.fd, out + done, wanted - done, start + static_cast<off_t>(done));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return RS_IO_ERROR;
        }
        if (got == 0)
            break;
        done += static_cast<std::size_t>(got);
    }
    if (done == 0)
        return RS_INPUT_ENDED;
    *len = done;
    return RS_DONE;
}

} // namespace

std::size_t signature_block_length(std::uint64_t file_size) {
    auto root = static_cast<std::size_t>(std::sqrt(static_cast<double>(file_size)));
    root -= root % 8;
    return std::clamp(root, k_min_block, k_max_block);
}

std::size_t signature_strong_length(std::uint64_t file_size, std::size_t block_length) {
    rs_magic_number magic = k_magic;
    std::size_t block = block_length;
    auto strong = static_cast<std::size_t>(-1); // -1: the minimum safe length
    if (rs_sig_args(static_cast<rs_long_t>(file_size), &magic, &block, &strong) != RS_DONE)
        return 0; // librsync's maximum
    return strong;
}

struct RsyncJob::State {
    rs_job_t* job = nullptr;
    BasisWindow basis; // patch jobs: read by copy_from_basis through a pointer to this field
    bool done = false;

    ~State() {
        if (job != nullptr)
            rs_job_free(job);
    }
};

RsyncJob::RsyncJob(std::unique_ptr<State> state) : m_state(std::move(state)) {}
RsyncJob::RsyncJob(RsyncJob&&) noexcept = default;
RsyncJob& RsyncJob::operator=(RsyncJob&&) noexcept = default;
RsyncJob::~RsyncJob() = default;

RsyncJob RsyncJob::signature(std::uint64_t file_size) {
    quiet_librsync();
    auto block = signature_block_length(file_size);
    auto state = std::make_unique<State>();
    state->job = rs_sig_begin(block, signature_strong_length(file_size, block), k_magic);
    return RsyncJob(std::move(state));
}

RsyncJob RsyncJob::patch(int basis_fd, std::uint64_t window_offset, std::uint64_t window_length) {
    quiet_librsync();
    auto state = std::make_unique<State>();
    state->basis = BasisWindow{basis_fd, window_offset, window_length};
    state->job = rs_patch_begin(copy_from_basis, &state->basis);
    return RsyncJob(std::move(state));
}

base::Result<bool> RsyncJob::feed(std::string_view input, bool eof, const OutputSink& sink) {
    if (!m_state || m_state->job == nullptr)
        return base::fail(base::ErrorKind::fatal, "librsync job used after it was moved from");
    if (m_state->done)
        return true;
    std::string output(k_output_buffer, '\0');
    rs_buffers_t buffers{};
    buffers.next_in = const_cast<char*>(input.data()); // librsync never writes its input
    buffers.avail_in = input.size();
    buffers.eof_in = eof ? 1 : 0;
    for (;;) {
        buffers.next_out = output.data();
        buffers.avail_out = output.size();
        std::size_t in_before = buffers.avail_in;
        rs_result result = rs_job_iter(m_state->job, &buffers);
        std::size_t produced = output.size() - buffers.avail_out;
        if (produced > 0) {
            if (auto sent = sink(std::string_view(output.data(), produced)); !sent)
                return std::unexpected(sent.error());
        }
        if (result == RS_DONE) {
            m_state->done = true;
            return true;
        }
        if (result != RS_BLOCKED)
            return std::unexpected(rsync_error(result, "job failed"));
        bool progressed = produced > 0 || buffers.avail_in != in_before;
        if (!eof && buffers.avail_in == 0 && produced < output.size())
            return false; // everything taken; it wants more input
        if (!progressed)
            return std::unexpected(
                base::Error{base::ErrorKind::protocol,
                            eof ? "librsync job stalled at the end of its input (truncated stream)"
                                : "librsync job stopped taking input",
                            0});
    }
}

struct DeltaSource::State {
    rs_signature_t* signature = nullptr;
    rs_job_t* loader = nullptr;
    bool loaded = false;
    bool indexed = false;

    ~State() {
        if (loader != nullptr)
            rs_job_free(loader);
        if (signature != nullptr)
            rs_free_sumset(signature);
    }
};

DeltaSource::DeltaSource() : m_state(std::make_unique<State>()) {
    quiet_librsync();
    m_state->loader = rs_loadsig_begin(&m_state->signature);
}
DeltaSource::DeltaSource(DeltaSource&&) noexcept = default;
DeltaSource& DeltaSource::operator=(DeltaSource&&) noexcept = default;
DeltaSource::~DeltaSource() = default;

base::Status DeltaSource::load(std::string_view signature_bytes, bool eof) {
    if (m_state->loaded)
        return signature_bytes.empty()
                   ? base::Status{}
                   : base::fail(base::ErrorKind::protocol, "signature bytes after its end");
    rs_buffers_t buffers{};
    buffers.next_in = const_cast<char*>(signature_bytes.data());
    buffers.avail_in = signature_bytes.size();
    buffers.eof_in = eof ? 1 : 0;
    for (;;) {
        std::size_t in_before = buffers.avail_in;
        rs_result result = rs_job_iter(m_state->loader, &buffers);
        if (result == RS_DONE) {
            m_state->loaded = true;
            rs_job_free(m_state->loader);
            m_state->loader = nullptr;
            return {};
        }
        if (result != RS_BLOCKED)
            return std::unexpected(rsync_error(result, "cannot load signature"));
        if (buffers.avail_in == 0 && !eof)
            return {};
        if (buffers.avail_in == in_before)
            return base::fail(base::ErrorKind::protocol,
                              eof ? "signature truncated" : "signature loader stopped");
    }
}

base::Result<RsyncJob> DeltaSource::delta_job() {
    if (!m_state->loaded)
        return base::fail(base::ErrorKind::protocol, "signature incomplete");
    if (!m_state->indexed) {
        if (auto built = rs_build_hash_table(m_state->signature); built != RS_DONE)
            return std::unexpected(rsync_error(built, "cannot index signature"));
        m_state->indexed = true;
    }
    auto state = std::make_unique<RsyncJob::State>();
    state->job = rs_delta_begin(m_state->signature);
    return RsyncJob(std::move(state));
}

} // namespace fsmirror::transport
