#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "transport/content_hash.hpp"
#include "transport/rsync_delta.hpp"

#include <string>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

using namespace fsmirror;
using namespace fsmirror::transport;

namespace {

// Runs `job` over `input` in pieces of `piece` bytes; returns everything it produced.
std::string run_job(RsyncJob& job, const std::string& input, std::size_t piece) {
    std::string output;
    auto sink = [&](std::string_view bytes) -> base::Status {
        output.append(bytes);
        return {};
    };
    std::size_t offset = 0;
    for (;;) {
        auto chunk = std::string_view(input).substr(offset, piece);
        offset += chunk.size();
        bool eof = offset >= input.size();
        auto done = job.feed(chunk, eof, sink);
        REQUIRE(done);
        if (*done)
            return output;
        REQUIRE_FALSE(eof);
    }
}

struct DeltaResult {
    std::string rebuilt;
    std::size_t signature_size;
    std::size_t delta_size;
};

DeltaResult transfer(const std::string& basis, const std::string& target, std::size_t piece) {
    test_support::TempDir dir("fsmirror-rsync");
    test_support::write_file(dir / "basis", basis);
    int fd = ::open((dir / "basis").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);

    auto signature_job = RsyncJob::signature(basis.size());
    std::string signature = run_job(signature_job, basis, piece);
    DeltaSource source;
    for (std::size_t at = 0; at < signature.size(); at += piece)
        REQUIRE(source.load(std::string_view(signature).substr(at, piece),
                            at + piece >= signature.size()));
    if (signature.empty())
        REQUIRE(source.load({}, true));
    auto delta_job = source.delta_job();
    REQUIRE(delta_job);
    std::string delta = run_job(*delta_job, target, piece);
    auto patch = RsyncJob::patch(fd);
    std::string rebuilt = run_job(patch, delta, piece);
    ::close(fd);
    return {rebuilt, signature.size(), delta.size()};
}

} // namespace

TEST_CASE("signature block length grows like a square root within rsync's bounds",
          "[transport][rsync_delta]") {
    CHECK(signature_block_length(0) == 700);
    CHECK(signature_block_length(100'000) == 700);
    CHECK(signature_block_length(1'000'000) == 1000);
    CHECK(signature_block_length(16ull << 20) == 4096);
    CHECK(signature_block_length(1ull << 40) == 128 * 1024);
    for (std::uint64_t size : {1ull << 20, 3'333'333ull, 1ull << 30})
        CHECK(signature_block_length(size) % 8 == 0);
    CHECK(signature_strong_length(1ull << 30, signature_block_length(1ull << 30)) > 0);
}

TEST_CASE("a delta rebuilds the new content from the old", "[transport][rsync_delta]") {
    const std::string basis = test_support::make_content(2'000'000, 3);
    std::string changed = basis;
    changed.replace(1'000'000, 10, "0123456789");
    changed.insert(500'000, "inserted bytes shift everything after them");
    changed.resize(changed.size() - 12345);

    for (std::size_t piece : {std::size_t{1000}, std::size_t{65536}, std::size_t{10'000'000}}) {
        INFO("fed in pieces of " << piece);
        auto result = transfer(basis, changed, piece);
        CHECK(result.rebuilt == changed);
        // Far smaller than the file: a few blocks of literal data and copy commands.
        CHECK(result.delta_size < changed.size() / 50);
        CHECK(result.signature_size < basis.size() / 50);
    }
}

TEST_CASE("deltas against empty and unrelated bases still rebuild exactly",
          "[transport][rsync_delta]") {
    const std::string content = test_support::make_content(300'000, 5);
    CHECK(transfer("", content, 4096).rebuilt == content);
    CHECK(transfer(test_support::make_content(300'000, 6), content, 4096).rebuilt == content);
    CHECK(transfer(content, "", 4096).rebuilt.empty());
}

TEST_CASE("a corrupt signature or delta is an error, not a crash", "[transport][rsync_delta]") {
    DeltaSource source;
    CHECK_FALSE(source.load("this is not a signature", true));
    CHECK_FALSE(DeltaSource().delta_job()); // nothing loaded

    test_support::TempDir dir("fsmirror-rsync");
    test_support::write_file(dir / "basis", "basis");
    int fd = ::open((dir / "basis").c_str(), O_RDONLY | O_CLOEXEC);
    auto patch = RsyncJob::patch(fd);
    auto fed = patch.feed("garbage that is no delta", true,
                          [](std::string_view) -> base::Status { return {}; });
    CHECK_FALSE(fed);
    ::close(fd);
}

TEST_CASE("content hashes are stable and sensitive", "[transport][content_hash]") {
    ContentHasher whole;
    whole.update("hello world");
    ContentHasher pieces;
    pieces.update("hello ");
    pieces.update("world");
    CHECK(whole.digest() == pieces.digest());
    ContentHasher other;
    other.update("hello worle");
    CHECK(whole.digest() != other.digest());
    CHECK(to_hex(whole.digest()).size() == 32);

    test_support::TempDir dir("fsmirror-hash");
    test_support::write_file(dir / "f", "hello world");
    int fd = ::open((dir / "f").c_str(), O_RDONLY | O_CLOEXEC);
    auto hashed = hash_file(fd);
    ::close(fd);
    REQUIRE(hashed);
    CHECK(*hashed == whole.digest());
}

TEST_CASE("a delta against a range of the basis is applied to that range alone",
          "[transport][rsync_delta]") {
    const std::string basis = test_support::make_content(600'000, 9);
    const std::size_t offset = 200'000;
    const std::size_t length = 150'000;
    const std::string range = basis.substr(offset, length);
    std::string changed = range;
    changed.replace(70'000, 5, "abcde");
    test_support::TempDir dir("fsmirror-rsync");
    test_support::write_file(dir / "basis", basis);
    int fd = ::open((dir / "basis").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    auto signature_job = RsyncJob::signature(range.size());
    std::string signature = run_job(signature_job, range, 4096);
    DeltaSource source;
    REQUIRE(source.load(signature, true));
    auto delta_job = source.delta_job();
    REQUIRE(delta_job);
    std::string delta = run_job(*delta_job, changed, 4096);
    CHECK(delta.size() < changed.size() / 20); // the range's blocks were found in the window
    auto patch = RsyncJob::patch(fd, offset, length);
    CHECK(run_job(patch, delta, 4096) == changed);
    ::close(fd);
}
