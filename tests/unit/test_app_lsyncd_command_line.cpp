// lsyncd's command line: options with one dash or two, syncs, a config file, lsyncd's errors;
// and how dispatch tells an lsyncd invocation from fsmirror's own commands.

#include "app/commands.hpp"
#include "app/lsyncd_command_line.hpp"
#include "app/pid_file.hpp"

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <unistd.h>

using fsmirror::app::looks_like_lsyncd;
using fsmirror::app::LsyncdCommandLine;
using fsmirror::app::LsyncdUsageError;
using fsmirror::app::parse_lsyncd_command_line;
using fsmirror::app::PidFile;
using fsmirror::base::LogLevel;
using Layer = fsmirror::config::LsyncdCommandLineSync::Layer;

namespace {

std::string error_of(const std::vector<std::string>& args) {
    try {
        parse_lsyncd_command_line(args);
    } catch (const LsyncdUsageError& e) {
        return e.what();
    }
    FAIL("expected an LsyncdUsageError");
    return {};
}

} // namespace

TEST_CASE("lsyncd: a config file with options, one dash or two", "[app][lsyncd]") {
    const LsyncdCommandLine cl = parse_lsyncd_command_line(
        {"-nodaemon", "--log", "all", "-logfile", "/var/log/x.log", "--pidfile", "/run/x.pid",
         "-insist", "-delay", "2.5", "/etc/lsyncd/lsyncd.conf.lua"});
    CHECK_FALSE(cl.help);
    CHECK_FALSE(cl.version);
    CHECK(cl.config_file == std::optional<std::string>("/etc/lsyncd/lsyncd.conf.lua"));
    CHECK(cl.settings.nodaemon);
    CHECK(cl.settings.insist);
    CHECK(cl.settings.log_level == LogLevel::debug);
    CHECK(cl.settings.logfile == std::optional<std::string>("/var/log/x.log"));
    CHECK(cl.settings.pidfile == std::optional<std::string>("/run/x.pid"));
    CHECK(cl.settings.delay == 2.5);
    CHECK(cl.settings.syncs.empty());
}

TEST_CASE("lsyncd: -rsync, -rsyncssh and -direct syncs", "[app][lsyncd]") {
    const LsyncdCommandLine cl = parse_lsyncd_command_line(
        {"-rsync", "/a", "/b", "--direct", "/c", "/d", "-rsyncssh", "/e", "host", "/f", "-sshopts",
         "-p 2222  -4", "-onepass", "-log", "scarce"});
    REQUIRE(cl.settings.syncs.size() == 3);
    CHECK(cl.settings.syncs[0].layer == Layer::rsync);
    CHECK(cl.settings.syncs[0].source == "/a");
    CHECK(cl.settings.syncs[0].target == "/b");
    CHECK(cl.settings.syncs[1].layer == Layer::direct);
    CHECK(cl.settings.syncs[2].layer == Layer::rsyncssh);
    CHECK(cl.settings.syncs[2].host == "host");
    CHECK(cl.settings.syncs[2].target_dir == "/f");
    CHECK(cl.settings.ssh_extra_args == std::vector<std::string>{"-p", "2222", "-4"});
    CHECK(cl.settings.onepass);
    CHECK(cl.settings.log_level == LogLevel::warning);
    CHECK_FALSE(cl.config_file);
}

TEST_CASE("lsyncd: help, version and monitors", "[app][lsyncd]") {
    CHECK(parse_lsyncd_command_line({}).help);
    CHECK(parse_lsyncd_command_line({"-help"}).help);
    CHECK(parse_lsyncd_command_line({"--help"}).help);
    CHECK(parse_lsyncd_command_line({"-version"}).version);
    CHECK(parse_lsyncd_command_line({"-nodaemon"}).help); // nothing to do: lsyncd shows help
    CHECK(parse_lsyncd_command_line({"-monitor"}).list_monitors);
    CHECK(parse_lsyncd_command_line({"-monitor", "inotify", "x.lua"}).config_file ==
          std::optional<std::string>("x.lua"));
    CHECK(fsmirror::app::lsyncd_version_line("1.2.3") == "Version: 2.2.3 (fsmirror 1.2.3)\n");
    CHECK_THAT(fsmirror::app::lsyncd_help_text(), Catch::Contains("-rsyncssh [SOURCE] [HOST]"));
}

TEST_CASE("lsyncd: refused command lines, in lsyncd's words", "[app][lsyncd]") {
    CHECK(error_of({"-dealy", "5", "x.lua"}) == "unknown option command line option -dealy");
    CHECK(error_of({"--nodeamon"}) == "unknown option command line option --nodeamon");
    CHECK(error_of({"-rsync", "/a"}) == "rsync needs 2 arguments");
    CHECK(error_of({"-rsyncssh", "/a", "host"}) == "rsyncssh needs 3 arguments");
    CHECK(error_of({"x.lua", "-logfile"}) == "logfile needs 1 arguments");
    CHECK(error_of({"a.lua", "b.lua"}) == "There can only be one config file in the command line.");
    CHECK(error_of({"-rsync", "/a", "/b", "c.lua"}) ==
          "There cannot be command line syncs and a config file together.");
    CHECK_THAT(error_of({"-delay", "soon", "x.lua"}), Catch::Contains("delay needs a number"));
    CHECK_THAT(error_of({"-runner", "/usr/share/lsyncd/lsyncd.lua", "x.lua"}),
               Catch::Contains("-runner is not supported"));
    CHECK_THAT(error_of({"-monitor", "fsevents", "x.lua"}),
               Catch::Contains("monitor 'fsevents' is not supported"));
}

TEST_CASE("dispatch hands lsyncd invocations over, keeps fsmirror's commands", "[app][lsyncd]") {
    const std::filesystem::path cwd = "/nonexistent-dir";
    CHECK(looks_like_lsyncd({"-nodaemon", "/etc/lsyncd/lsyncd.conf.lua"}, cwd));
    CHECK(looks_like_lsyncd({"-rsync", "/a", "/b"}, cwd));
    CHECK(looks_like_lsyncd({"--delay", "5", "-rsync", "/a", "/b"}, cwd));
    CHECK(looks_like_lsyncd({"-help"}, cwd));
    CHECK(looks_like_lsyncd({"-version"}, cwd));
    CHECK(looks_like_lsyncd({"/etc/lsyncd/lsyncd.conf.lua"}, cwd));
    CHECK(looks_like_lsyncd({"/etc/lsyncd.conf"}, cwd));
    CHECK_FALSE(looks_like_lsyncd({"--help"}, cwd));
    CHECK_FALSE(looks_like_lsyncd({"--version"}, cwd));
    CHECK_FALSE(looks_like_lsyncd({"-h"}, cwd));
    CHECK_FALSE(looks_like_lsyncd({"runn"}, cwd));
    CHECK_FALSE(looks_like_lsyncd({}, cwd));

    char dir_template[] = "/tmp/fsmirror-dispatch-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::filesystem::path dir = dir_template;
    std::ofstream(dir / "mirror.cfg") << "sync{}";
    CHECK(looks_like_lsyncd({"mirror.cfg"}, dir)); // an existing file is a config
    std::filesystem::remove_all(dir);
}

TEST_CASE("the pidfile is locked while held and removed by its writer", "[app][lsyncd]") {
    char dir_template[] = "/tmp/fsmirror-pidfile-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::filesystem::path dir = dir_template;
    const std::filesystem::path path = dir / "lsyncd.pid";
    {
        auto pid_file = PidFile::acquire(path);
        pid_file->write_pid();
        std::ifstream in(path);
        long written = 0;
        in >> written;
        CHECK(written == ::getpid());
        try {
            PidFile::acquire(path);
            FAIL("a second instance got the lock");
        } catch (const std::runtime_error& e) {
            CHECK_THAT(e.what(), Catch::Contains("another instance is running (pid " +
                                                 std::to_string(::getpid()) + ")"));
        }
    }
    CHECK_FALSE(std::filesystem::exists(path));
    // Not written by this process: left alone.
    { auto pid_file = PidFile::acquire(path); }
    CHECK(std::filesystem::exists(path));
    CHECK_THROWS_AS(PidFile::acquire(dir / "missing" / "x.pid"), std::runtime_error);
    std::filesystem::remove_all(dir);
}
