#include "transport/file_content.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace fsmirror::transport {

using base::fail_errno;
using base::Result;

namespace {

constexpr std::size_t k_chunk = 1 << 20;      // read granularity for the block compare
constexpr std::size_t k_block = 4096;         // write granularity: a page
constexpr std::size_t k_copy_chunk = 1 << 30; // per copy_file_range call

Result<std::size_t> read_full(int fd, char* buffer, std::size_t size, off_t offset) {
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pread(fd, buffer + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail_errno("read");
        }
        if (n == 0)
            break;
        done += static_cast<std::size_t>(n);
    }
    return done;
}

base::Status write_full(int fd, const char* buffer, std::size_t size, off_t offset) {
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::pwrite(fd, buffer + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail_errno("write");
        }
        done += static_cast<std::size_t>(n);
    }
    return {};
}

Result<std::uint64_t> copy_by_read_write(int src_fd, int dst_fd, off_t offset) {
    std::vector<char> buffer(k_chunk);
    std::uint64_t total = 0;
    for (;;) {
        auto got = read_full(src_fd, buffer.data(), buffer.size(), offset);
        if (!got)
            return std::unexpected(got.error());
        if (*got == 0)
            return total;
        auto written = write_full(dst_fd, buffer.data(), *got, offset);
        if (!written)
            return std::unexpected(written.error());
        offset += static_cast<off_t>(*got);
        total += *got;
    }
}

} // namespace

Result<std::uint64_t> copy_whole_file(int src_fd, int dst_fd, std::uint64_t expected_size,
                                      Destination destination) {
    loff_t in_offset = 0;
    loff_t out_offset = 0;
    std::uint64_t total = 0;
    // Asking for the expected size (not "up to EOF") lets the first call finish the copy; the
    // call that returns 0 at EOF is then not needed.
    while (total < expected_size || expected_size == 0) {
        std::size_t want = expected_size > total ? static_cast<std::size_t>(std::min<std::uint64_t>(
                                                       expected_size - total, k_copy_chunk))
                                                 : k_copy_chunk;
        ssize_t n = ::copy_file_range(src_fd, &in_offset, dst_fd, &out_offset, want, 0);
        if (n > 0) {
            total += static_cast<std::uint64_t>(n);
            continue;
        }
        if (n == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP) {
            auto rest = copy_by_read_write(src_fd, dst_fd, static_cast<off_t>(in_offset));
            if (!rest)
                return rest;
            total += *rest;
            break;
        }
        return fail_errno("copy_file_range");
    }
    // A fresh file holds exactly what was copied; only an older file can be longer.
    if (destination == Destination::may_hold_data &&
        ::ftruncate(dst_fd, static_cast<off_t>(total)) != 0)
        return fail_errno("truncate");
    return total;
}

Result<std::uint64_t> copy_range(int src_fd, std::uint64_t src_offset, int dst_fd,
                                 std::uint64_t dst_offset, std::uint64_t length) {
    auto in_offset = static_cast<loff_t>(src_offset);
    auto out_offset = static_cast<loff_t>(dst_offset);
    std::uint64_t done = 0;
    while (done < length) {
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, k_copy_chunk));
        ssize_t n = ::copy_file_range(src_fd, &in_offset, dst_fd, &out_offset, want, 0);
        if (n > 0) {
            done += static_cast<std::uint64_t>(n);
            continue;
        }
        if (n == 0)
            return done;
        if (errno == EINTR)
            continue;
        if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
            return fail_errno("copy_file_range");
        // Through user space, in the same chunks as a whole copy.
        std::vector<char> buffer(std::min<std::uint64_t>(k_chunk, length - done));
        while (done < length) {
            auto size =
                static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), length - done));
            auto got = read_full(src_fd, buffer.data(), size, static_cast<off_t>(in_offset));
            if (!got)
                return std::unexpected(got.error());
            if (*got == 0)
                return done;
            if (auto put = write_full(dst_fd, buffer.data(), *got, static_cast<off_t>(out_offset));
                !put)
                return std::unexpected(put.error());
            in_offset += static_cast<loff_t>(*got);
            out_offset += static_cast<loff_t>(*got);
            done += *got;
        }
    }
    return done;
}

Result<std::uint64_t> write_changed_blocks(int src_fd, int dst_fd) {
    std::vector<char> source(k_chunk);
    std::vector<char> target(k_chunk);
    std::uint64_t written = 0;
    off_t offset = 0;
    for (;;) {
        auto got = read_full(src_fd, source.data(), source.size(), offset);
        if (!got)
            return std::unexpected(got.error());
        if (*got == 0)
            break;
        auto have = read_full(dst_fd, target.data(), *got, offset);
        if (!have)
            return std::unexpected(have.error());
        // Write runs of differing blocks as one pwrite each.
        std::size_t block = 0;
        while (block < *got) {
            std::size_t length = std::min(k_block, *got - block);
            bool same = block + length <= *have &&
                        std::memcmp(source.data() + block, target.data() + block, length) == 0;
            if (same) {
                block += length;
                continue;
            }
            std::size_t run_end = block + length;
            while (run_end < *got) {
                std::size_t next = std::min(k_block, *got - run_end);
                if (run_end + next <= *have &&
                    std::memcmp(source.data() + run_end, target.data() + run_end, next) == 0)
                    break;
                run_end += next;
            }
            auto status = write_full(dst_fd, source.data() + block, run_end - block,
                                     offset + static_cast<off_t>(block));
            if (!status)
                return std::unexpected(status.error());
            written += run_end - block;
            block = run_end;
        }
        offset += static_cast<off_t>(*got);
        if (*got < source.size())
            break;
    }
    if (::ftruncate(dst_fd, offset) != 0)
        return fail_errno("truncate");
    return written;
}

bool try_clone_file(int src_fd, int dst_fd) {
    return ::ioctl(dst_fd, FICLONE, src_fd) == 0;
}

} // namespace fsmirror::transport
