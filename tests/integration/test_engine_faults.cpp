// Faults a real machine produces on demand: a lost-event queue overflow, a target area that
// turns read-only and back, a configuration reloaded by SIGHUP (valid and broken).

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/scoped_mount.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/wait.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;
using namespace std::chrono_literals;

namespace {

// Lowers fs.inotify.max_queued_events for instances created while it lives; the kernel reads
// the value at inotify_init, so it is restored right after the daemon has started.
class QueueLimit {
public:
    explicit QueueLimit(int events) {
        std::ifstream in(k_path);
        if (!(in >> m_saved))
            skip_test("cannot read " + std::string(k_path));
        std::ofstream out(k_path);
        if (!(out << events << '\n') || !out.flush())
            skip_test("cannot lower " + std::string(k_path) +
                      " here (not root, or read-only /proc)");
    }
    ~QueueLimit() { restore(); }
    QueueLimit(const QueueLimit&) = delete;
    QueueLimit& operator=(const QueueLimit&) = delete;

    void restore() {
        if (m_saved <= 0)
            return;
        std::ofstream out(k_path);
        out << m_saved << '\n';
        m_saved = 0;
    }

private:
    static constexpr const char* k_path = "/proc/sys/fs/inotify/max_queued_events";
    int m_saved = 0;
};

void write_config(const fs::path& file, const std::string& text) {
    std::ofstream out(file, std::ios::trunc);
    out << text;
}

} // namespace

// Tagged [serial]: it changes a machine-wide limit, so CTest runs it alone.
TEST_CASE("a queue overflow becomes one rescan that converges, not a restart",
          "[engine][faults][serial]") {
    MirrorFixture fixture;
    make_tree(fixture.source(), 5, 20);
    {
        QueueLimit limit(16);
        fixture.start();
        limit.restore();
    }
    // Far more events than 16 in one burst, across existing and new directories, while the
    // daemon is stopped: an idle machine's daemon could otherwise read them as fast as they
    // come, and the queue would never overflow.
    REQUIRE(fixture.daemon().send_signal(SIGSTOP));
    for (int d = 0; d < 20; ++d) {
        fs::create_directories(fixture.source() / fmt::format("burst{}/inner", d));
        for (int f = 0; f < 50; ++f)
            write_file(fixture.source() / fmt::format("burst{}/inner/f{}", d, f),
                       fmt::format("file {} {}\n", d, f));
    }
    REQUIRE(fixture.daemon().send_signal(SIGCONT));
    fixture.require_mirrored();
    INFO(fixture.log_tail());
    CHECK(fixture.daemon().count_in_log("OVERFLOW") >= 1);
    // One startup only: an overflow never restarts the daemon (lsyncd's loop).
    CHECK(fixture.daemon().count_in_log("initial sync finished") == 1);
    CHECK(fixture.daemon().count_in_log("--- Startup ---") == 1);

    // Events keep flowing after the rescan.
    write_file(fixture.source() / "after_overflow.txt", "still watching\n");
    fixture.require_mirrored();
    fixture.stop();
}

TEST_CASE("a transfer that fails is retried with backoff while the rest keeps flowing",
          "[engine][faults][concurrent]") {
    MirrorFixture fixture;
    fs::create_directory(fixture.source() / "area");
    fs::create_directory(fixture.target() / "area");
    std::string why;
    auto mount = ScopedMount::tmpfs(fixture.target() / "area", "size=4m", &why);
    if (!mount)
        skip_test(why);
    write_file(fixture.source() / "area/first.txt", "before\n");
    // The target holds the mount point made above and no marker: the non-empty-target check
    // would refuse it (test_safety_check.cpp); here the point is the retries.
    fixture.start({"--skip-safety"});
    fixture.require_mirrored();

    REQUIRE(mount->set_read_only(true));
    write_file(fixture.source() / "area/blocked.txt", "written while the target area is ro\n");
    write_file(fixture.source() / "elsewhere.txt", "not blocked\n");
    REQUIRE(wait_until([&] { return exists_no_follow(fixture.target() / "elsewhere.txt"); },
                       k_settle_timeout));
    REQUIRE(wait_until([&] { return fixture.daemon().count_in_log("will retry") >= 1; },
                       k_settle_timeout));
    CHECK_FALSE(exists_no_follow(fixture.target() / "area/blocked.txt"));

    // Backoff, not a busy loop: a few attempts over three seconds, not hundreds.
    auto before = fixture.daemon().count_in_log("will retry");
    std::this_thread::sleep_for(3s);
    auto during = fixture.daemon().count_in_log("will retry") - before;
    CHECK(during <= 4);

    REQUIRE(mount->set_read_only(false));
    fixture.require_mirrored();
    CHECK(fixture.daemon().running());
    fixture.stop();
}

TEST_CASE("SIGHUP reloads the configuration and a broken one is refused with the old one kept",
          "[engine][faults][concurrent]") {
    MirrorFixture fixture;
    fs::path second_source = fixture.root() / "source2";
    fs::path second_target = fixture.root() / "target2";
    fs::create_directory(second_source);
    write_file(second_source / "two.txt", "second sync\n");
    fs::path config = fixture.root() / "fsmirror.yml";
    std::string one_sync = fmt::format(R"(defaults:
  events: {}
syncs:
  - name: first
    source: {}
    target: {}
    delay: 0.2
)",
                                       fsmirror::integration::events_under_test(),
                                       fixture.source().string(), fixture.target().string());
    write_config(config, one_sync);
    fixture.start_with_args({"run", "--config", config.string(), "--log-level", "debug"},
                            std::nullopt, 1);
    CHECK(fixture.daemon().count_in_log("events from " +
                                        fsmirror::integration::events_under_test()) == 1);

    write_config(config, one_sync + "  - name: second\n    source: " + second_source.string() +
                             "\n    target: " + second_target.string() + "\n    delay: 0.2\n");
    REQUIRE(fixture.daemon().send_signal(SIGHUP));
    REQUIRE(wait_until([&] { return fixture.daemon().count_in_log("initial sync finished") >= 3; },
                       k_settle_timeout));
    write_file(second_source / "later.txt", "after the reload\n");
    fixture.require_mirrored(second_source, second_target);

    write_config(config, "syncs:\n  - name: broken\n    dealy: 1\n");
    REQUIRE(fixture.daemon().send_signal(SIGHUP));
    REQUIRE(wait_until(
        [&] { return fixture.daemon().count_in_log("keeping the running configuration") >= 1; },
        k_settle_timeout));
    write_file(fixture.source() / "still.txt", "the old configuration still runs\n");
    fixture.require_mirrored();
    fixture.stop();
}
