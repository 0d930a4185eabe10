// lsyncd's command line on the real binary: -rsync, daemon mode with a pidfile, -onepass,
// exit codes, and bad configs refused with file:line.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <signal.h>
#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::fsmirror_binary;
using fsmirror::integration::k_exit_timeout;
using fsmirror::integration::k_test_delay;
using fsmirror::integration::MirrorFixture;

namespace {

const fs::path k_corpus = FSMIRROR_LSYNCD_CONFIGS;

// Runs the binary to completion and returns {status, output}.
std::pair<int, std::string> run(MirrorFixture& mirror, const std::vector<std::string>& args,
                                const std::string& log_name) {
    std::vector<std::string> argv{fsmirror_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess child(ChildOptions{
        .argv = argv, .log_file = mirror.root() / log_name, .working_directory = mirror.root()});
    const std::optional<int> status = child.wait_for_exit(std::chrono::seconds(30));
    INFO("output:\n" << child.log_tail());
    REQUIRE(status.has_value());
    return {*status, child.log_text()};
}

bool process_alive(pid_t pid) {
    return ::kill(pid, 0) == 0 || errno == EPERM;
}

} // namespace

TEST_CASE("lsyncd: -rsync SRC TGT mirrors, SIGTERM exits 143", "[integration][lsyncd]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 6, 20);
    // Relative paths, resolved against the directory fsmirror starts in.
    mirror.start_with_args({"-nodaemon", "-delay", k_test_delay, "-rsync", "source", "target"},
                           mirror.root(), 1);
    mirror.require_mirrored();
    write_file(mirror.source() / "d000/new.txt", "new\n");
    fs::remove(mirror.source() / "f001");
    mirror.require_mirrored();
    CHECK_THAT(mirror.daemon().log_text(), Catch::Contains("Sync1: initial sync finished"));

    REQUIRE(mirror.daemon().send_signal(SIGTERM));
    const std::optional<int> status = mirror.daemon().wait_for_exit(k_exit_timeout);
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(status.has_value());
    CHECK(*status == 143);
    CHECK_THAT(mirror.daemon().log_text(), Catch::Contains("Normal: --- TERM signal, fading ---"));
}

TEST_CASE("lsyncd: without -nodaemon it detaches, writes and removes its pidfile",
          "[integration][lsyncd]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 3, 8);
    const fs::path pid_path = mirror.root() / "lsyncd.pid";
    const fs::path log_path = mirror.root() / "lsyncd.log";
    // Relative paths everywhere: the daemon runs from /, but resolved them first.
    const auto [status, output] = run(mirror,
                                      {"-pidfile", "lsyncd.pid", "-logfile", "lsyncd.log", "-delay",
                                       k_test_delay, "-rsync", "source", "target"},
                                      "launch.log");
    INFO("launcher output:\n" << output);
    REQUIRE(status == 0); // the launcher returns once the daemon has started
    CHECK_THAT(output, Catch::Contains("--- Startup, daemonizing ---"));
    REQUIRE(fs::exists(pid_path));
    const pid_t pid = static_cast<pid_t>(std::stol(read_file(pid_path)));
    REQUIRE(pid > 1);
    REQUIRE(process_alive(pid));
    struct Reaper {
        pid_t pid;
        ~Reaper() {
            if (::kill(pid, 0) == 0)
                ::kill(pid, SIGKILL);
        }
    } reaper{pid};

    // The daemon mirrors...
    const bool started = wait_until(
        [&] {
            return fs::exists(log_path) &&
                   read_file(log_path).find("initial sync finished") != std::string::npos;
        },
        std::chrono::seconds(30));
    INFO("daemon log:\n" << (fs::exists(log_path) ? read_file(log_path) : "(none)"));
    REQUIRE(started);
    std::vector<std::string> differences;
    CHECK(
        wait_for_identical_trees(mirror.source(), mirror.target(), k_settle_timeout, &differences));
    write_file(mirror.source() / "while-detached.txt", "mirrored by the daemon\n");
    CHECK(
        wait_for_identical_trees(mirror.source(), mirror.target(), k_settle_timeout, &differences));

    // ...refuses a second instance on the same pidfile...
    const auto [second, second_output] =
        run(mirror, {"-pidfile", "lsyncd.pid", "-rsync", "source", "other"}, "second.log");
    CHECK(second == 255);
    CHECK_THAT(second_output, Catch::Contains("another instance is running"));

    // ...and on SIGTERM removes the pidfile and exits.
    REQUIRE(::kill(pid, SIGTERM) == 0);
    CHECK(wait_until([&] { return !process_alive(pid); }, k_exit_timeout));
    CHECK_FALSE(fs::exists(pid_path));
    const std::string log = read_file(log_path);
    CHECK_THAT(log, Catch::Contains("Normal: --- TERM signal, fading ---"));
    CHECK_THAT(log,
               Catch::Contains(fmt::format("Startup of {}/ -> {}/ finished.",
                                           mirror.source().string(), mirror.target().string())));
}

TEST_CASE("lsyncd: -onepass syncs once and exits 0", "[integration][lsyncd]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 5, 15);
    write_file(mirror.target() / "stale", "deleted\n");
    const auto [status, output] =
        run(mirror, {"-onepass", "-rsync", mirror.source().string(), mirror.target().string()},
            "onepass.log");
    INFO(output);
    CHECK(status == 0);
    const std::vector<std::string> differences = compare_trees(mirror.source(), mirror.target());
    INFO(fsmirror::integration::join_lines(differences));
    CHECK(differences.empty());
}

TEST_CASE("lsyncd: -version, -help and bad options", "[integration][lsyncd]") {
    MirrorFixture mirror;
    {
        const auto [status, output] = run(mirror, {"-version"}, "version.log");
        CHECK(status == 0);
        CHECK_THAT(output, Catch::StartsWith("Version: 2.2.3 (fsmirror "));
    }
    {
        const auto [status, output] = run(mirror, {"--help"}, "native-help.log");
        CHECK(status == 0); // fsmirror's own help
        CHECK_THAT(output, Catch::Contains("LSYNCD COMPATIBILITY"));
    }
    {
        const auto [status, output] = run(mirror, {"-help"}, "help.log");
        CHECK(status == 255); // lsyncd's help exits -1
        CHECK_THAT(output, Catch::Contains("-rsyncssh [SOURCE] [HOST] [TARGETDIR]"));
    }
    {
        const auto [status, output] = run(mirror, {"-nodeamon", "x.lua"}, "bad-option.log");
        CHECK(status == 255);
        CHECK_THAT(output, Catch::Contains("Error: unknown option command line option -nodeamon"));
    }
    {
        const auto [status, output] =
            run(mirror, {"-nodaemon", "-rsync", "/nonexistent-source", "target"}, "missing.log");
        CHECK(status == 255);
        CHECK_THAT(output, Catch::Contains("Cannot access source directory: /nonexistent-source"));
    }
}

TEST_CASE("lsyncd: bad configs fail with file:line and exit 255", "[integration][lsyncd]") {
    MirrorFixture mirror;
    struct Bad {
        const char* file;
        const char* line;
        const char* says;
    };
    for (const Bad& bad : {Bad{"syntax-error.lua", "8", "'}' expected"},
                           Bad{"unknown-key.lua", "1", "Parameter \"dealy\" unknown."},
                           Bad{"custom-layer.lua", "8", "is a custom layer"},
                           Bad{"settings-assignment.lua", "4", "Do not use settings = { ... }"}}) {
        const fs::path file = k_corpus / "bad" / bad.file;
        const auto [status, output] = run(mirror, {"-nodaemon", file.string()}, "bad.log");
        INFO(output);
        CHECK(status == 255);
        CHECK_THAT(output, Catch::Contains(fmt::format("Error: {}:{}: ", file.string(), bad.line)));
        CHECK_THAT(output, Catch::Contains(bad.says));
    }
    // A remote target needs an absolute path on the remote (lsyncd allowed home-relative).
    write_file(mirror.root() / "remote.lua",
               fmt::format("sync {{ default.rsyncssh, source = '{}', host = 'backup',\n"
                           "       targetdir = 'mirror' }}\n",
                           mirror.source().string()));
    const auto [status, output] = run(mirror, {"-nodaemon", "remote.lua"}, "remote.log");
    CHECK(status == 255);
    CHECK_THAT(output, Catch::Contains(fmt::format("Error: {}:1: remote path 'mirror' is relative",
                                                   (mirror.root() / "remote.lua").string())));
}

TEST_CASE("convert prints YAML that runs", "[integration][lsyncd]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 3, 6);
    write_file(
        mirror.root() / "lsyncd.conf.lua",
        fmt::format("sync {{\n  default.rsync, source = '{}', target = '{}',\n"
                    "  delay = 0.2, rsync = {{ archive = true, _extra = {{ '--inplace' }} }}\n}}\n",
                    mirror.source().string(), mirror.target().string()));
    const auto [status, yaml] = run(mirror, {"convert", "lsyncd.conf.lua"}, "convert.yml");
    REQUIRE(status == 0);
    CHECK_THAT(yaml, Catch::Contains("inplace: true"));
    CHECK_THAT(yaml, Catch::Contains("delay: 0.2"));
    REQUIRE(mirror.run_to_completion(
                {"sync", "--config", (mirror.root() / "convert.yml").string()}) == 0);
    const std::vector<std::string> differences = compare_trees(mirror.source(), mirror.target());
    INFO(fsmirror::integration::join_lines(differences));
    CHECK(differences.empty());
}

TEST_CASE("lsyncd: without perms, modes follow rsync's rules", "[integration][lsyncd]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "kept.txt", "new content, longer than before\n");
    set_mode(mirror.source() / "kept.txt", 0644);
    write_file(mirror.target() / "kept.txt", "old\n");
    set_mode(mirror.target() / "kept.txt", 0600);
    write_file(mirror.source() / "tool.sh", "#!/bin/sh\n");
    set_mode(mirror.source() / "tool.sh", 0775);
    const mode_t saved = ::umask(022); // the daemon inherits it
    // default.rsync passes no -p: replaced files keep their mode, new ones get source & ~umask.
    mirror.start_with_args({"-nodaemon", "-delay", k_test_delay, "-rsync", "source", "target"},
                           mirror.root(), 1);
    ::umask(saved);
    CHECK(wait_until([&] { return file_has_content(mirror.target() / "tool.sh", "#!/bin/sh\n"); },
                     k_settle_timeout));
    CHECK(file_has_content(mirror.target() / "kept.txt", "new content, longer than before\n"));
    CHECK(mode_of(mirror.target() / "kept.txt") == 0600);
    CHECK(mode_of(mirror.target() / "tool.sh") == 0755);
    write_file(mirror.source() / "later.txt", "created while running\n");
    set_mode(mirror.source() / "later.txt", 0666);
    CHECK(wait_until([&] { return exists_no_follow(mirror.target() / "later.txt"); },
                     k_settle_timeout));
    CHECK(mode_of(mirror.target() / "later.txt") == 0644);
}

TEST_CASE("lsyncd: a sync that cannot start ends the process, unless -insist",
          "[integration][lsyncd]") {
    MirrorFixture mirror;
    write_file(mirror.source() / "a.txt", "a\n");
    const fs::path target = mirror.root() / "not-yet/mounted";
    {
        const auto [status, output] =
            run(mirror, {"-nodaemon", "-delay", k_test_delay, "-rsync", "source", target.string()},
                "no-insist.log");
        CHECK(status == 255);
        CHECK_THAT(output, Catch::Contains("Terminating since \"insist\" is not set."));
    }
    // With -insist it retries until the target's volume appears.
    mirror.start_with_args(
        {"-nodaemon", "-insist", "-delay", k_test_delay, "-rsync", "source", target.string()},
        mirror.root(), 0);
    CHECK(mirror.daemon().wait_for_log("Retrying startup", std::chrono::seconds(20)));
    fs::create_directories(target.parent_path());
    mirror.require_mirrored(mirror.source(), target);
    REQUIRE(mirror.daemon().send_signal(SIGTERM));
    const std::optional<int> status = mirror.daemon().wait_for_exit(k_exit_timeout);
    REQUIRE(status.has_value());
    CHECK(*status == 143);
}

TEST_CASE("lsyncd: SIGHUP re-reads the Lua config", "[integration][lsyncd]") {
    MirrorFixture mirror;
    const fs::path second_source = mirror.root() / "second-source";
    const fs::path second_target = mirror.root() / "second-target";
    fs::create_directories(second_source);
    write_file(mirror.source() / "one.txt", "one\n");
    write_file(second_source / "two.txt", "two\n");
    const std::string first =
        fmt::format("sync {{ default.rsync, source = '{}', target = '{}', delay = 0.2 }}\n",
                    mirror.source().string(), mirror.target().string());
    const fs::path config = mirror.root() / "lsyncd.conf.lua";
    write_file(config, first);
    mirror.start_with_args({"-nodaemon", "lsyncd.conf.lua"}, mirror.root(), 1);
    mirror.require_mirrored();

    write_file(config, first + fmt::format("sync {{ default.direct, source = '{}', target = '{}' "
                                           "}}\n",
                                           second_source.string(), second_target.string()));
    REQUIRE(mirror.daemon().send_signal(SIGHUP));
    CHECK(mirror.daemon().wait_for_log("--- HUP signal, resetting ---", std::chrono::seconds(20)));
    mirror.require_mirrored(second_source, second_target);
    mirror.require_mirrored();

    // A broken config on HUP keeps the running one.
    write_file(config, "sync { default.rsync, source = \n");
    REQUIRE(mirror.daemon().send_signal(SIGHUP));
    CHECK(mirror.daemon().wait_for_log("keeping the running configuration",
                                       std::chrono::seconds(20)));
    write_file(second_source / "three.txt", "three\n");
    mirror.require_mirrored(second_source, second_target);
}

TEST_CASE("lsyncd: settings statusFile writes lsyncd's status report every statusInterval",
          "[integration][lsyncd][monitor]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 2, 4);
    const fs::path status_path = mirror.root() / "lsyncd.status";
    const fs::path config_path = mirror.root() / "lsyncd.conf.lua";
    write_file(config_path, fmt::format(R"(settings {{
    statusFile = "{}",
    statusInterval = 1,
    nodaemon = true,
}}
sync {{ default.rsync, source = "{}", target = "{}", delay = 30 }}
)",
                                        status_path.string(), mirror.source().string(),
                                        mirror.target().string()));
    mirror.start_with_args({config_path.string()}, mirror.root(), 1);
    mirror.require_mirrored();
    // Held by the 30 s delay, so the report lists it as a waiting delay.
    write_file(mirror.source() / "pending.txt", "waits\n");

    std::string report;
    const bool listed = wait_until(
        [&] {
            report = fs::exists(status_path) ? read_file(status_path) : "";
            return report.find("Create /pending.txt\n") != std::string::npos;
        },
        k_settle_timeout);
    INFO("status file:\n" << report << "\ndaemon log:\n" << mirror.log_tail());
    REQUIRE(listed);
    CHECK(report.starts_with("Lsyncd status report at "));
    CHECK_THAT(report, Catch::Contains("Sync1 source=" + mirror.source().string() + "/\n") &&
                           Catch::Matches("(.|\n)*There are [12] delays\n(.|\n)*") &&
                           Catch::Matches("(.|\n)*\n *wait +Create /pending.txt\n(.|\n)*") &&
                           Catch::Contains("Inotify watching 3 directories"));

    // Rewritten while idle: its modification time moves on.
    const auto first = fs::last_write_time(status_path);
    REQUIRE(
        wait_until([&] { return fs::last_write_time(status_path) != first; }, k_settle_timeout));
}
