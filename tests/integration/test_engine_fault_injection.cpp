// Faults injected while transfers are under way: the daemon killed mid-copy, a target file
// system that fills up, a target directory removed or unmounted under the daemon, source files
// rewritten or removed during their copy, and a source file the daemon may not read. Where the
// monitor has a health check for the fault, the test also requires its alert, through an exec
// channel that saves each one.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/scoped_mount.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/wait.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <unistd.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::fsmirror_binary;
using fsmirror::integration::join_lines;
using fsmirror::integration::MirrorFixture;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t k_mib = 1024 * 1024;

// Returns the daemon's temp files under `root` that already hold data: a copy under way, not
// the marker's or a file's first instant.
std::vector<fs::path> temp_files_with_data(const fs::path& root) {
    std::vector<fs::path> found;
    for (const fs::path& path : find_temp_files(root)) {
        std::error_code ec;
        if (fs::file_size(path, ec) > 0 && !ec)
            found.push_back(path);
    }
    return found;
}

// Returns the regular files under `root` (temp files and the marker left out) whose content is
// not exactly that of the same path under `source`: a partly written file under its final name.
std::vector<std::string> files_differing_from_source(const fs::path& root, const fs::path& source) {
    std::vector<std::string> differing;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || is_temp_file_name(name) || name == ".fsmirror")
            continue;
        const fs::path relative = fs::relative(entry.path(), root);
        if (!file_has_content(entry.path(), read_file(source / relative)))
            differing.push_back(relative.string());
    }
    return differing;
}

// Alerts the daemon raises, each saved by an exec channel as alerts/alert-<pid>.json.
class AlertLog {
public:
    explicit AlertLog(const fs::path& root) : m_dir(root / "alerts") {
        fs::create_directory(m_dir);
    }

    const fs::path& dir() const { return m_dir; }

    // Returns the YAML for the fixture's pair, with fast health checks and this channel;
    // `sync_keys` are added to the sync (each line indented by four spaces).
    std::string config(const MirrorFixture& fixture, const std::string& sync_keys = "") const {
        return fmt::format(R"(log:
  level: debug
syncs:
  - name: sync1
    source: {}
    target: {}
    delay: {}
{}state_dir: {}
monitor:
  interval: 0.5
alerts:
  rate_limit_window: 3600
  exec:
    command: [/bin/sh, -c, 'cat > "$0"/alert-$$.json', {}]
)",
                           fixture.source().string(), fixture.target().string(),
                           fsmirror::integration::k_test_delay, sync_keys,
                           (fixture.root() / "state").string(), m_dir.string());
    }

    // Waits until an alert's JSON contains every one of `needles`; returns whether one did.
    bool wait_for(const std::vector<std::string>& needles) const {
        return wait_until(
            [&] {
                for (const auto& entry : fs::directory_iterator(m_dir)) {
                    std::string text;
                    try {
                        text = read_file(entry.path());
                    } catch (const std::exception&) {
                        continue; // still being written
                    }
                    bool all = true;
                    for (const auto& needle : needles)
                        all = all && text.find(needle) != std::string::npos;
                    if (all)
                        return true;
                }
                return false;
            },
            k_settle_timeout);
    }

    // Returns every alert saved so far, for failure messages.
    std::string all() const {
        std::string text;
        for (const auto& entry : fs::directory_iterator(m_dir))
            text += read_file(entry.path()) + "\n";
        return text.empty() ? "(no alert)" : text;
    }

private:
    fs::path m_dir;
};

// Starts the fixture's daemon with `config` written to fsmirror.yml.
void start_with_config(MirrorFixture& fixture, const std::string& config) {
    const fs::path path = fixture.root() / "fsmirror.yml";
    write_file(path, config);
    fixture.start_with_args({"run", "--config", path.string()}, std::nullopt, 1);
}

std::vector<std::string> as_strings(const std::vector<fs::path>& paths) {
    std::vector<std::string> names;
    for (const fs::path& path : paths)
        names.push_back(path.string());
    return names;
}

} // namespace

TEST_CASE("a daemon killed mid-transfer leaves no partial file, and a restart cleans up and "
          "converges",
          "[engine][faults][kill]") {
    MirrorFixture fixture;
    // Several large files, so a copy is under way for most of the initial sync.
    constexpr int k_files = 6;
    for (int i = 0; i < k_files; ++i)
        write_file(fixture.source() / fmt::format("big{}.bin", i), make_content(32 * k_mib, i));
    write_file(fixture.source() / "small.txt", "small\n");

    const std::vector<std::string> argv{fsmirror_binary().string(),
                                        "run",
                                        "--source",
                                        fixture.source().string(),
                                        "--target",
                                        fixture.target().string(),
                                        "--delay",
                                        fsmirror::integration::k_test_delay,
                                        "--log-level",
                                        "debug"};
    // The kill must land while a temp file holds data; a run that finished first is repeated
    // with new content, a few times, before the test says it could not catch one.
    std::vector<fs::path> left_behind;
    std::string killed_log;
    for (int attempt = 0; attempt < 5 && left_behind.empty(); ++attempt) {
        if (attempt > 0)
            for (int i = 0; i < k_files; ++i)
                write_file(fixture.source() / fmt::format("big{}.bin", i),
                           make_content(32 * k_mib, 100 * attempt + i));
        ChildProcess daemon(
            ChildOptions{.argv = argv,
                         .log_file = fixture.root() / fmt::format("killed-{}.log", attempt),
                         .working_directory = std::nullopt});
        wait_until(
            [&] {
                return !temp_files_with_data(fixture.target()).empty() ||
                       daemon.count_in_log("initial sync finished") > 0 || !daemon.running();
            },
            k_settle_timeout);
        REQUIRE(daemon.send_signal(SIGKILL));
        REQUIRE(daemon.wait_for_exit(k_settle_timeout) == 128 + SIGKILL);
        left_behind = find_temp_files(fixture.target());
        killed_log = daemon.log_tail();
    }
    INFO("log of the killed daemon:\n" << killed_log);
    REQUIRE_FALSE(left_behind.empty()); // the kill did interrupt a copy
    INFO("temp files the kill left:\n" << join_lines(as_strings(left_behind)));

    // Every file under its final name is whole: what was interrupted is only in a temp file.
    const auto partial = files_differing_from_source(fixture.target(), fixture.source());
    INFO("files under their final name that differ from the source:\n" << join_lines(partial));
    CHECK(partial.empty());

    // A restart removes the stale temp files and completes the mirror.
    fixture.start();
    fixture.require_mirrored();
    for (const fs::path& stale : left_behind)
        CHECK_FALSE(exists_no_follow(stale));
    fixture.stop();
}

TEST_CASE("a full target file system corrupts nothing and the mirror resumes when space returns",
          "[engine][faults][no-space]") {
    MirrorFixture fixture;
    std::string why;
    auto volume = ScopedMount::tmpfs(fixture.target(), "size=2m", &why);
    if (!volume)
        skip_test(why);
    const std::string old_content = make_content(256 * 1024, 1);
    write_file(fixture.source() / "existing.bin", old_content);
    write_file(fixture.source() / "keep.txt", "kept\n");
    const AlertLog alerts(fixture.root());
    start_with_config(fixture, alerts.config(fixture));
    fixture.require_mirrored();

    // Neither fits in what is left: one new file, one existing file growing.
    write_file(fixture.source() / "huge.bin", make_content(6 * k_mib, 2));
    write_file(fixture.source() / "existing.bin", make_content(3 * k_mib, 3));
    REQUIRE(fixture.daemon().wait_for_log("No space left on device", k_settle_timeout));
    REQUIRE(fixture.daemon().wait_for_log("will retry", k_settle_timeout));
    INFO("daemon log:\n" << fixture.log_tail());
    // The old copy is intact, not truncated or half replaced, and no partial file is visible.
    CHECK(file_has_content(fixture.target() / "existing.bin", old_content));
    CHECK(file_has_content(fixture.target() / "keep.txt", "kept\n"));
    CHECK_FALSE(exists_no_follow(fixture.target() / "huge.bin"));
    // A failed copy takes its temp file with it, so the space is not leaked.
    CHECK(wait_until([&] { return find_temp_files(fixture.target()).empty(); }, 5s));
    CHECK(fixture.daemon().running());
    INFO("alerts:\n" << alerts.all());
    CHECK(alerts.wait_for({"\"kind\":\"sync_errors\"", "No space left on device"}));

    REQUIRE(volume->remount("size=32m"));
    fixture.require_mirrored();
    fixture.stop();
}

TEST_CASE("an unmounted target gets no writes into the bare mount point and resumes when "
          "mounted again",
          "[engine][faults][mount]") {
    MirrorFixture fixture;
    const fs::path volume_dir = fixture.root() / "volume";
    fs::create_directory(volume_dir);
    std::string why;
    auto volume = ScopedMount::tmpfs(volume_dir, "size=16m", &why);
    if (!volume)
        skip_test(why);
    auto mounted = ScopedMount::bind(volume_dir, fixture.target(), &why);
    if (!mounted)
        skip_test(why);
    make_tree(fixture.source(), 4, 16);
    const AlertLog alerts(fixture.root());
    start_with_config(fixture, alerts.config(fixture, "    require_mount: target\n"));
    fixture.require_mirrored();

    mounted->unmount(); // umount -l: the daemon still holds a descriptor inside it
    write_file(fixture.source() / "while-unmounted.txt", "written while the target was away\n");
    REQUIRE(
        fixture.daemon().wait_for_log("holding all changes until it is back", k_settle_timeout));
    // Time for a few retries: none may land in the bare directory on the parent file system.
    std::this_thread::sleep_for(3s);
    INFO("daemon log:\n" << fixture.log_tail());
    CHECK(fs::is_empty(fixture.target()));
    CHECK(fixture.daemon().running());
    INFO("alerts:\n" << alerts.all());
    CHECK(alerts.wait_for({"\"kind\":\"target\"", "\"severity\":\"CRITICAL\""}));

    auto mounted_again = ScopedMount::bind(volume_dir, fixture.target(), &why);
    INFO(why);
    REQUIRE(mounted_again);
    write_file(fixture.source() / "after-remount.txt", "after\n");
    REQUIRE(fixture.daemon().wait_for_log("is back", k_settle_timeout));
    fixture.require_mirrored();
    fixture.stop();
}

TEST_CASE("a removed target directory is not recreated by the daemon, and the mirror is rebuilt "
          "when it is back",
          "[engine][faults][mount]") {
    MirrorFixture fixture;
    make_tree(fixture.source(), 4, 16);
    const AlertLog alerts(fixture.root());
    start_with_config(fixture, alerts.config(fixture));
    fixture.require_mirrored();

    fs::remove_all(fixture.target());
    write_file(fixture.source() / "while-removed.txt", "written while the target was gone\n");
    REQUIRE(
        fixture.daemon().wait_for_log("holding all changes until it is back", k_settle_timeout));
    std::this_thread::sleep_for(3s);
    INFO("daemon log:\n" << fixture.log_tail());
    // Recreating it could mean writing onto the wrong disk (the parent was a mount point).
    CHECK_FALSE(exists_no_follow(fixture.target()));
    CHECK(fixture.daemon().running());
    INFO("alerts:\n" << alerts.all());
    CHECK(alerts.wait_for({"\"kind\":\"target\"", "\"severity\":\"CRITICAL\""}));

    // Made again on the same file system by an operator: the whole tree is mirrored again, not
    // only the changes seen while it was gone.
    fs::create_directory(fixture.target());
    fixture.require_mirrored();
    fixture.stop();
}

TEST_CASE("source files rewritten or removed during their transfer leave no torn copy",
          "[engine][faults][churn][concurrent]") {
    MirrorFixture fixture;
    write_file(fixture.source() / "in-place.bin", "first\n");
    // Dozens of files appear and go in a tree of three: the mass-delete guard would rightly
    // hold those deletions (test_safety_guard.cpp); here only the copies matter.
    fixture.start({"--max-delete-percent", "100"});

    std::atomic<bool> failed{false};
    std::string failure;
    std::thread writer([&] {
        try {
            const auto end = std::chrono::steady_clock::now() + 3s;
            for (unsigned round = 0; std::chrono::steady_clock::now() < end; ++round) {
                // Replaced whole (truncate + write) and rewritten in place, at sizes that
                // take the whole-copy and the block-compare paths.
                write_file(fixture.source() / "rewritten.bin", make_content(4 * k_mib, round));
                overwrite_file(fixture.source() / "in-place.bin",
                               make_content((round % 3 + 1) * 512 * 1024, round));
                // Appears and goes before or while it is copied.
                const fs::path vanishing = fixture.source() / fmt::format("vanish{}.bin", round);
                write_file(vanishing, make_content(2 * k_mib, round));
                std::this_thread::sleep_for(std::chrono::milliseconds(round % 7 * 20));
                fs::remove(vanishing);
            }
            // The last state, written once more so both sides end on a known content.
            write_file(fixture.source() / "rewritten.bin", make_content(4 * k_mib, 9999));
        } catch (const std::exception& error) {
            failure = error.what();
            failed = true;
        }
    });
    writer.join();
    INFO(failure);
    REQUIRE_FALSE(failed);
    fixture.require_mirrored();
    fixture.stop();
}

TEST_CASE("an unreadable source file is reported and everything else is mirrored",
          "[engine][faults][permissions]") {
    // Root reads any file whatever its mode, so the daemon runs as nobody here.
    constexpr uid_t k_nobody = 65534;
    if (::geteuid() != 0)
        skip_test("needs root to run the daemon as another user");
    if (::access("/usr/bin/setpriv", X_OK) != 0)
        skip_test("/usr/bin/setpriv (util-linux) is missing");
    MirrorFixture fixture;
    const fs::path state = fixture.root() / "state";
    fs::create_directory(state);
    const AlertLog alerts(fixture.root());
    for (const fs::path& path : {fixture.root(), fixture.target(), state, alerts.dir()})
        REQUIRE(::chown(path.c_str(), k_nobody, k_nobody) == 0);
    write_file(fixture.source() / "readable.txt", "anyone may read this\n");
    fs::create_directory(fixture.source() / "sub");
    write_file(fixture.source() / "sub/other.txt", "and this\n");
    write_file(fixture.source() / "secret.txt", "nobody may read this\n");
    set_mode(fixture.source() / "secret.txt", 0);

    fixture.set_command_prefix({"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                "--clear-groups", "--pdeathsig", "KILL"});
    // Its own directory for SQLite snapshots: the default one belongs to root.
    const fs::path snapshots = fixture.root() / "snapshots";
    fs::create_directory(snapshots);
    REQUIRE(::chown(snapshots.c_str(), k_nobody, k_nobody) == 0);
    start_with_config(fixture, alerts.config(fixture, "    sqlite:\n      temp_dir: " +
                                                          snapshots.string() + "\n"));
    INFO("daemon log:\n" << fixture.log_tail());
    CHECK(fixture.daemon().count_in_log("1 failed") == 1);
    CHECK(fixture.daemon().count_in_log("Permission denied") >= 1);
    CHECK(file_has_content(fixture.target() / "readable.txt", "anyone may read this\n"));
    CHECK(file_has_content(fixture.target() / "sub/other.txt", "and this\n"));
    CHECK_FALSE(exists_no_follow(fixture.target() / "secret.txt"));

    // Later changes still flow, and the file follows once it is readable.
    write_file(fixture.source() / "later.txt", "later\n");
    REQUIRE(wait_until([&] { return file_has_content(fixture.target() / "later.txt", "later\n"); },
                       k_settle_timeout));
    CHECK_FALSE(exists_no_follow(fixture.target() / "secret.txt"));
    INFO("alerts:\n" << alerts.all());
    CHECK(alerts.wait_for({"\"kind\":\"sync_errors\"", "Permission denied"}));
    set_mode(fixture.source() / "secret.txt", 0644);
    fixture.require_mirrored();
    fixture.stop();
}
