#include "app/sync_options.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror;
using app::parse_sync_options;
using app::UsageError;

namespace {

app::SyncSelection parse(std::vector<std::string> args) {
    return parse_sync_options(args, "/home/op", "run");
}

} // namespace

TEST_CASE("source and target with every per-sync flag", "[app][cli]") {
    auto selection = parse({"--source",   "data",         "--target=/mnt/mirror",
                            "--delay",    "0.25",         "--exclude",
                            "*.tmp",      "--exclude",    "/cache/",
                            "--delete",   "running",      "--inplace",
                            "--fsync",    "none",         "--workers",
                            "8",          "--max-delays", "50",
                            "--no-owner", "--log-level",  "debug"});
    REQUIRE(selection.config.syncs.size() == 1);
    const auto& sync = selection.config.syncs[0];
    CHECK(sync.source == "/home/op/data"); // relative: resolved against the start directory
    CHECK(sync.target == "/mnt/mirror");
    CHECK(sync.delay_seconds == 0.25);
    CHECK(sync.excludes == std::vector<std::string>{"*.tmp", "/cache/"});
    CHECK(sync.delete_mode == config::DeleteMode::running);
    CHECK(sync.inplace);
    CHECK(sync.fsync == config::FsyncPolicy::none);
    CHECK(sync.workers == 8);
    CHECK(sync.max_delays == 50);
    CHECK(sync.preserve.owner == false);
    CHECK(selection.log_level == base::LogLevel::debug);
}

TEST_CASE("a relative target is never resolved against /", "[app][cli]") {
    auto selection = parse({"--source", "/srv/a", "--target", "."});
    CHECK(selection.config.syncs[0].target == "/home/op");
}

TEST_CASE("bad flags are refused naming the flag", "[app][cli]") {
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--delay", "soon"}),
                      Catch::Contains("--delay") && Catch::Contains("'soon'"));
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--delay", "-1"}),
                      Catch::Contains("--delay"));
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--delete", "maybe"}),
                      Catch::Contains("--delete"));
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--workers", "0"}),
                      Catch::Contains("--workers"));
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--frobnicate"}),
                      Catch::Contains("unknown option '--frobnicate'"));
    CHECK_THROWS_WITH(parse({"--source", "a", "--target"}),
                      Catch::Contains("--target needs a value"));
    CHECK_THROWS_WITH(parse({"--target", "b"}), Catch::Contains("--source is required"));
    CHECK_THROWS_WITH(parse({"--source", "a"}), Catch::Contains("--target is required"));
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--inplace=yes"}),
                      Catch::Contains("--inplace takes no value"));
}

TEST_CASE("a config file excludes the per-sync flags but keeps log overrides", "[app][cli]") {
    auto selection = parse({"--config", "etc/fsmirror.yml", "--log-file", "/var/log/f.log"});
    REQUIRE(selection.config_file);
    CHECK(*selection.config_file == "/home/op/etc/fsmirror.yml");
    CHECK(selection.log_file == std::filesystem::path("/var/log/f.log"));
    CHECK_THROWS_WITH(parse({"--config", "f.yml", "--delay", "3"}),
                      Catch::Contains("--delay cannot be combined with --config"));
}

TEST_CASE("help is recognised anywhere", "[app][cli]") {
    CHECK(parse({"--source", "a", "--help"}).help_requested);
    CHECK(parse({"-h"}).help_requested);
}

TEST_CASE("the SQLite flags", "[app][cli][sqlite]") {
    auto defaults = parse({"--source", "/a", "--target", "/b"}).config.syncs[0].sqlite;
    CHECK(defaults.enabled);
    CHECK_FALSE(defaults.interval_seconds);
    auto set = parse({"--source", "/a", "--target", "/b", "--no-sqlite", "--sqlite-interval", "3",
                      "--sqlite-temp-dir", "snaps"})
                   .config.syncs[0]
                   .sqlite;
    CHECK_FALSE(set.enabled);
    CHECK(set.interval_seconds == 3);
    CHECK(set.temp_dir == std::filesystem::path("/home/op/snaps"));
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--sqlite-interval", "often"}),
                      Catch::Contains("--sqlite-interval"));
    CHECK_THROWS_WITH(parse({"--config", "/x.yml", "--no-sqlite"}),
                      Catch::Contains("--no-sqlite") && Catch::Contains("--config"));
}

TEST_CASE("the --events flag picks the event source", "[app][cli]") {
    CHECK(parse({"--source", "a", "--target", "b"}).config.syncs[0].events ==
          config::EventsBackend::automatic);
    CHECK(
        parse({"--source", "a", "--target", "b", "--events", "fanotify"}).config.syncs[0].events ==
        config::EventsBackend::fanotify);
    CHECK(parse({"--source", "a", "--target", "b", "--events=inotify"}).config.syncs[0].events ==
          config::EventsBackend::inotify);
    CHECK_THROWS_WITH(parse({"--source", "a", "--target", "b", "--events", "poll"}),
                      Catch::Contains("--events takes inotify, fanotify or auto"));
}
