#include "tests/integration/mirror_fixture.hpp"

#include "tests/support/file_ops.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/wait.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace fsmirror::integration {

namespace fs = std::filesystem;
using test_support::ChildProcess;
using test_support::CompareOptions;
using test_support::skip_test;

namespace {

// Skipping exits the process at once, so it must happen before the temp dir exists.
const char* checked_temp_prefix() {
    skip_unless_prerequisites();
    return "fsmirror-it";
}

} // namespace

fs::path fsmirror_binary() {
    // A copy of the binary can be soaked while the build tree is being rebuilt.
    if (const char* binary = std::getenv("FSMIRROR_TEST_BINARY"); binary && *binary)
        return fs::path(binary);
    return fs::path(FSMIRROR_BINARY);
}

void skip_unless_prerequisites() {
    const fs::path binary = fsmirror_binary();
    if (::access(binary.c_str(), X_OK) != 0)
        skip_test(fmt::format("fsmirror binary {} is not executable: {}", binary.string(),
                              std::strerror(errno)));
    const int fd = ::inotify_init1(IN_CLOEXEC);
    if (fd < 0)
        skip_test(fmt::format("inotify is unavailable here: {}", std::strerror(errno)));
    ::close(fd);
    if (events_under_test() == "fanotify") {
        if (auto unavailable = fanotify_unavailable(fs::temp_directory_path()))
            skip_test(*unavailable);
    }
}

std::optional<std::string> fanotify_unavailable(const fs::path& path) {
    const int group = ::fanotify_init(
        FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_REPORT_DFID_NAME | FAN_REPORT_FID, O_RDONLY);
    if (group < 0)
        return fmt::format("fanotify with directory handles is unavailable here (needs root "
                           "and Linux 5.9): {}",
                           std::strerror(errno));
    const int marked = ::fanotify_mark(group, FAN_MARK_ADD | FAN_MARK_FILESYSTEM,
                                       FAN_CREATE | FAN_RENAME, AT_FDCWD, path.c_str());
    const int err = errno;
    ::close(group);
    if (marked != 0)
        return fmt::format("fanotify cannot mark the file system of {} (needs Linux 5.17 and "
                           "a file system with file handles): {}",
                           path.string(), std::strerror(err));
    return std::nullopt;
}

std::string events_under_test() {
    const char* events = std::getenv("FSMIRROR_TEST_EVENTS");
    return events && std::string_view(events) == "fanotify" ? "fanotify" : "inotify";
}

std::string join_lines(const std::vector<std::string>& lines, std::size_t max_lines) {
    std::string text;
    for (std::size_t i = 0; i < lines.size() && i < max_lines; ++i)
        text += lines[i] + "\n";
    if (lines.size() > max_lines)
        text += fmt::format("... and {} more\n", lines.size() - max_lines);
    return text;
}

MirrorFixture::MirrorFixture()
    : m_dir(checked_temp_prefix()), m_source(m_dir / "source"), m_target(m_dir / "target"),
      m_outside(m_dir / "outside") {
    fs::create_directory(m_source);
    fs::create_directory(m_target);
    fs::create_directory(m_outside);
    // The daemon's control files (the mass-delete guard's `paused`, `resume`) stay in this
    // test's directory instead of /var/lib/fsmirror, shared by parallel tests.
    ::setenv("STATE_DIRECTORY", (m_dir / "state").c_str(), 1);
}

MirrorFixture::~MirrorFixture() = default;

void MirrorFixture::start(const std::vector<std::string>& extra_args) {
    std::vector<std::string> args{
        "run",        "--source",    m_source.string(), "--target", m_target.string(),  "--delay",
        k_test_delay, "--log-level", "debug",           "--events", events_under_test()};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    start_with_args(args, std::nullopt, 1);
    INFO("daemon log:\n" << log_tail());
    REQUIRE(m_daemon->count_in_log("events from " + events_under_test()) >= 1);
}

void MirrorFixture::launch(const std::vector<std::string>& extra_args) {
    REQUIRE_FALSE(m_daemon);
    std::vector<std::string> argv = m_prefix;
    argv.insert(argv.end(), {fsmirror_binary().string(), "run", "--source", m_source.string(),
                             "--target", m_target.string(), "--delay", k_test_delay, "--log-level",
                             "debug", "--events", events_under_test()});
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    m_daemon = std::make_unique<ChildProcess>(test_support::ChildOptions{
        .argv = argv, .log_file = m_dir / "daemon.log", .working_directory = std::nullopt});
}

void MirrorFixture::wait_for_initial_sync(std::chrono::milliseconds timeout) {
    REQUIRE(m_daemon);
    const bool finished = test_support::wait_until(
        [&] { return m_daemon->count_in_log(k_initial_sync_line) >= 1 || !m_daemon->running(); },
        timeout);
    INFO("daemon log:\n" << log_tail());
    REQUIRE(finished);
    REQUIRE(m_daemon->running());
    REQUIRE(m_daemon->count_in_log(k_initial_sync_line) >= 1);
}

void MirrorFixture::start_with_args(const std::vector<std::string>& args,
                                    const std::optional<fs::path>& working_directory,
                                    std::size_t expected_syncs) {
    REQUIRE_FALSE(m_daemon);
    std::vector<std::string> argv = m_prefix;
    argv.push_back(fsmirror_binary().string());
    argv.insert(argv.end(), args.begin(), args.end());
    m_daemon = std::make_unique<ChildProcess>(test_support::ChildOptions{
        .argv = argv, .log_file = m_dir / "daemon.log", .working_directory = working_directory});

    const bool started = test_support::wait_until(
        [&] {
            return m_daemon->count_in_log(k_initial_sync_line) >= expected_syncs ||
                   !m_daemon->running();
        },
        k_startup_timeout);
    INFO("command: " << join_lines(argv, 100));
    INFO("daemon log:\n" << log_tail());
    REQUIRE(started);
    REQUIRE(m_daemon->running());
    REQUIRE(m_daemon->count_in_log(k_initial_sync_line) >= expected_syncs);
}

int MirrorFixture::run_to_completion(const std::vector<std::string>& args) {
    return run_with_output(args).status;
}

CommandRun MirrorFixture::run_with_output(const std::vector<std::string>& args) {
    std::vector<std::string> argv{fsmirror_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child(
        test_support::ChildOptions{.argv = argv,
                                   .log_file = m_dir / fmt::format("run-{}.log", ++m_run_count),
                                   .working_directory = std::nullopt});
    const std::optional<int> status = child.wait_for_exit(std::chrono::seconds(60));
    INFO("command: " << join_lines(argv, 100));
    INFO("output:\n" << child.log_tail());
    REQUIRE(status.has_value());
    return CommandRun{*status, child.log_text()};
}

void MirrorFixture::require_mirrored(const CompareOptions& options) {
    require_mirrored(m_source, m_target, options);
}

void MirrorFixture::require_mirrored(const fs::path& source, const fs::path& target,
                                     const CompareOptions& options) {
    std::vector<std::string> differences;
    const bool identical = test_support::wait_for_identical_trees(
        source, target, test_support::k_settle_timeout, &differences, options);
    // Temp files may exist for a moment after the last real change (a redundant transfer
    // finishing); only one that stays is a leak.
    std::vector<fs::path> temp_files;
    test_support::wait_until(
        [&] {
            temp_files = test_support::find_temp_files(target);
            return temp_files.empty();
        },
        test_support::k_settle_timeout);

    INFO("target " << target.string() << " vs source " << source.string());
    INFO("differences (source vs target):\n" << join_lines(differences));
    INFO("daemon log:\n" << log_tail());
    REQUIRE(identical);
    std::vector<std::string> temp_names;
    for (const fs::path& path : temp_files)
        temp_names.push_back(path.string());
    INFO("temp files left:\n" << join_lines(temp_names));
    REQUIRE(temp_files.empty());
}

void MirrorFixture::settle() {
    for (int round = 0; round < 2; ++round) {
        const std::string name = fmt::format("settle-{}", ++m_settle_count);
        const std::string content = "settle marker " + name;
        test_support::write_file(m_source / name, content);
        const bool arrived = test_support::wait_until(
            [&] { return test_support::file_has_content(m_target / name, content); },
            test_support::k_settle_timeout);
        INFO("marker " << name << " never reached the target");
        INFO("daemon log:\n" << log_tail());
        REQUIRE(arrived);
    }
}

void MirrorFixture::stop() {
    ChildProcess& child = daemon();
    REQUIRE(child.send_signal(SIGTERM));
    const std::optional<int> status = child.wait_for_exit(k_exit_timeout);
    INFO("daemon log:\n" << log_tail());
    REQUIRE(status.has_value());
    REQUIRE(*status == 0);
    const std::vector<fs::path> temp_files = test_support::find_temp_files(m_target);
    std::vector<std::string> temp_names;
    for (const fs::path& path : temp_files)
        temp_names.push_back(path.string());
    INFO("temp files left:\n" << join_lines(temp_names));
    REQUIRE(temp_files.empty());
}

ChildProcess& MirrorFixture::daemon() {
    REQUIRE(m_daemon);
    return *m_daemon;
}

std::string MirrorFixture::log_tail() const {
    return m_daemon ? m_daemon->log_tail() : "";
}

} // namespace fsmirror::integration
