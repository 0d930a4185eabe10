// The inotify-watch pre-flight check through the real binary: with
// fs.inotify.max_user_watches lowered below what the source needs, `check` and `run` refuse and
// name the sysctl to raise. Tagged [serial]: the limit is machine-wide (CTest runs the test
// alone), and it is lowered only for the two commands, leaving everybody else's processes the
// room they had.

#include "safety/watch_headroom.hpp"
#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/skip.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace fsmirror::integration;
using fsmirror::test_support::skip_test;

namespace {

constexpr const char* k_limit_path = "/proc/sys/fs/inotify/max_user_watches";

// Watches left free above those in use while the limit is lowered: other processes keep that
// much room, and the test's source needs far more (so the refusal holds even if others release
// some of theirs meanwhile). Kept small because removing the tree dominates the test's time.
constexpr std::uint64_t k_headroom = 2'000;
constexpr std::uint64_t k_source_directories = 3 * k_headroom;

bool write_limit(std::uint64_t value) {
    std::ofstream out(k_limit_path);
    return static_cast<bool>(out << value << '\n') && static_cast<bool>(out.flush());
}

// Lowers fs.inotify.max_user_watches while it lives and puts the original back when it goes,
// however the test ends (a failed REQUIRE unwinds through the destructor too).
class LoweredWatchLimit {
public:
    LoweredWatchLimit(std::uint64_t original, std::uint64_t lowered) : m_original(original) {
        REQUIRE(write_limit(lowered));
    }
    ~LoweredWatchLimit() {
        if (!write_limit(m_original))
            std::fprintf(stderr, "could not restore %s to %llu\n", k_limit_path,
                         static_cast<unsigned long long>(m_original));
    }
    LoweredWatchLimit(const LoweredWatchLimit&) = delete;
    LoweredWatchLimit& operator=(const LoweredWatchLimit&) = delete;

private:
    std::uint64_t m_original;
};

// Returns the limit now; skips the test where it cannot be changed here (no root, a read-only
// /proc/sys in a container), probed by writing the value it already has.
std::uint64_t writable_limit() {
    std::uint64_t original = 0;
    std::ifstream in(k_limit_path);
    if (!(in >> original))
        skip_test(std::string("cannot read ") + k_limit_path);
    if (::access(k_limit_path, W_OK) != 0 || !write_limit(original))
        skip_test(std::string("cannot write ") + k_limit_path +
                  " here (not root, or /proc/sys is read-only)");
    return original;
}

} // namespace

TEST_CASE("check and run refuse a source with more directories than inotify watches left",
          "[integration][safety][check][serial]") {
    MirrorFixture mirror;
    const std::uint64_t original = writable_limit();
    for (std::uint64_t i = 0; i < k_source_directories; ++i)
        fs::create_directories(mirror.source() / fmt::format("d{:03}/e{:03}", i / 100, i % 100));
    // inotify explicitly: `auto` would turn a shortage into a warning where fanotify can
    // watch the tree instead (app/preflight.cpp).
    const std::vector<std::string> pair = {"--source", mirror.source().string(),
                                           "--target", mirror.target().string(),
                                           "--events", "inotify"};
    std::vector<std::string> check{"check"};
    check.insert(check.end(), pair.begin(), pair.end());
    std::vector<std::string> run{"run"};
    run.insert(run.end(), pair.begin(), pair.end());

    // fanotify sets one mark and no watches: the same check passes and counts nothing.
    const auto fanotify_missing = fsmirror::integration::fanotify_unavailable(mirror.source());
    const bool fanotify = !fanotify_missing;
    std::vector<std::string> check_fanotify = check;
    check_fanotify.back() = "fanotify";
    // The window is as short as three pre-flight runs: the tree is made before and the outcome
    // read after.
    CommandRun checked;
    CommandRun ran;
    CommandRun checked_fanotify;
    {
        const std::uint64_t in_use = fsmirror::safety::count_watches_in_use(::geteuid());
        LoweredWatchLimit lowered(original, std::min(original, in_use + k_headroom));
        checked = mirror.run_with_output(check);
        ran = mirror.run_with_output(run);
        if (fanotify)
            checked_fanotify = mirror.run_with_output(check_fanotify);
    }
    std::uint64_t restored = 0;
    std::ifstream(k_limit_path) >> restored;
    CHECK(restored == original);

    INFO(checked.log);
    CHECK(checked.status == 1);
    CHECK_THAT(checked.log,
               Catch::Contains("FAILED  inotify-watches: " + mirror.source().string()) &&
                   Catch::Contains("sysctl -w fs.inotify.max_user_watches="));
    INFO(ran.log);
    CHECK(ran.status != 0);
    CHECK_THAT(ran.log, Catch::Contains("pre-flight check failed: inotify-watches: ") &&
                            Catch::Contains("sysctl -w fs.inotify.max_user_watches="));
    CHECK_THAT(ran.log, !Catch::Contains("initial sync finished"));
    CHECK(fs::is_empty(mirror.target()));
    if (fanotify) {
        INFO(checked_fanotify.log);
        CHECK(checked_fanotify.status == 0);
        CHECK_THAT(checked_fanotify.log, !Catch::Contains("inotify-watches"));
    } else {
        WARN("the fanotify part of this test did not run: " << *fanotify_missing);
    }
}
