#pragma once
// One source/target pair in a fresh temp dir and the real fsmirror binary mirroring it: the
// common frame of every integration test. Helpers that assert use Catch2's REQUIRE, so they
// must be called from inside a TEST_CASE.

#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tree_compare.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::integration {

// Liveness bounds, not performance targets.
inline constexpr std::chrono::milliseconds k_startup_timeout{30'000};
inline constexpr std::chrono::milliseconds k_exit_timeout{10'000};

// The batching delay every test runs with: short, so the suite stays fast.
inline constexpr const char* k_test_delay = "0.2";

// The text the daemon logs once per sync pair when its initial sync is done.
inline constexpr const char* k_initial_sync_line = "initial sync finished";

// Returns the path of the fsmirror binary under test: $FSMIRROR_TEST_BINARY when set, else the
// one this build made.
std::filesystem::path fsmirror_binary();

// Exits the test process with status 4 (CTest's SKIP_RETURN_CODE for this suite) after saying
// why, when the binary is missing or inotify is unusable here (no instances left, seccomp),
// or, when the tests run against fanotify, fanotify cannot watch the temp directory.
// Does nothing when everything the suite needs is present.
void skip_unless_prerequisites();

// Returns why fanotify cannot watch the file system of `path` here (with the same flags as
// the daemon), or nullopt when it can.
std::optional<std::string> fanotify_unavailable(const std::filesystem::path& path);

// Returns the event source the daemons under test use: "fanotify" when the environment says
// FSMIRROR_TEST_EVENTS=fanotify (CTest's second run of the engine tests), "inotify" otherwise.
std::string events_under_test();

// A command run to completion: its exit status and everything it printed (stdout and stderr).
struct CommandRun {
    int status = 0;
    std::string log;
};

class MirrorFixture {
public:
    // Creates <tmp>/fsmirror-it-XXXXXX with empty `source/`, `target/` and `outside/` (a place
    // on the same file system but outside the tree, for moves in and out), and points
    // $STATE_DIRECTORY (the daemon's control files) at `state/` in it. Skips the test (exit 4)
    // when prerequisites are missing.
    MirrorFixture();

    // Stops a still running daemon with SIGKILL before the directories are removed.
    ~MirrorFixture();

    MirrorFixture(const MirrorFixture&) = delete;
    MirrorFixture& operator=(const MirrorFixture&) = delete;

    const std::filesystem::path& root() const { return m_dir.path(); }
    const std::filesystem::path& source() const { return m_source; }
    const std::filesystem::path& target() const { return m_target; }
    const std::filesystem::path& outside() const { return m_outside; }

    // Runs the daemon as `<prefix...> fsmirror ...` from now on, for a wrapper that changes
    // its credentials (setpriv) without a shell.
    void set_command_prefix(std::vector<std::string> prefix) { m_prefix = std::move(prefix); }

    // Starts `fsmirror run --source S --target T --delay 0.2 --log-level debug --events E
    // <extra>` (E: events_under_test()) and REQUIREs that it logs "initial sync finished"
    // within 30 s, and that it uses E.
    void start(const std::vector<std::string>& extra_args = {});

    // Starts the daemon as start() does but returns at once, for changes made while its
    // initial sync runs; wait_for_initial_sync() then REQUIREs that sync's end within `timeout`.
    void launch(const std::vector<std::string>& extra_args = {});
    void wait_for_initial_sync(std::chrono::milliseconds timeout);

    // Starts `fsmirror <args...>` verbatim from `working_directory` (the test's own when
    // nullopt) and REQUIREs `expected_syncs` "initial sync finished" lines within 30 s.
    void start_with_args(const std::vector<std::string>& args,
                         const std::optional<std::filesystem::path>& working_directory,
                         std::size_t expected_syncs);

    // Runs `fsmirror <args...>` to completion (60 s bound) and returns its exit status;
    // REQUIREs that it ended. The output goes to a log whose tail is shown on failure.
    int run_to_completion(const std::vector<std::string>& args);

    // The same, returning everything the command printed as well.
    CommandRun run_with_output(const std::vector<std::string>& args);

    // REQUIREs that target() becomes identical to source() within 20 s and that no daemon
    // temp file is left in it; on failure prints the differences and the daemon log.
    void require_mirrored(const test_support::CompareOptions& options = {});

    // The same for another pair (configurations with several syncs).
    void require_mirrored(const std::filesystem::path& source, const std::filesystem::path& target,
                          const test_support::CompareOptions& options = {});

    // Waits until the daemon has handled every change made before the call, for assertions
    // that something did NOT happen: writes a fresh marker file into the source root and waits
    // for it on the target, twice, so the batch holding earlier changes (whose deletions may
    // be applied last) is complete. The markers stay in the source and are mirrored normally.
    void settle();

    // Sends SIGTERM and REQUIREs exit status 0 within 10 s and no temp file in the target.
    void stop();

    // Returns the running daemon; REQUIREs that one was started.
    test_support::ChildProcess& daemon();

    // Returns the tail of the daemon's log, for INFO messages ("" before start).
    std::string log_tail() const;

private:
    test_support::TempDir m_dir;
    std::filesystem::path m_source;
    std::filesystem::path m_target;
    std::filesystem::path m_outside;
    unsigned m_settle_count = 0;
    unsigned m_run_count = 0;
    std::vector<std::string> m_prefix;
    // Declared after m_dir so that it is destroyed (daemon killed) before the tree is removed.
    std::unique_ptr<test_support::ChildProcess> m_daemon;
};

// Joins lines for INFO output, one per line, at most `max_lines` of them.
std::string join_lines(const std::vector<std::string>& lines, std::size_t max_lines = 50);

} // namespace fsmirror::integration
