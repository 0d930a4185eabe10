// The command-line side of the safety features: flags, command switches, the state directory
// and the control files `fsmirror resume` uses.

#include "app/control_files.hpp"
#include "app/sync_options.hpp"
#include "tests/support/temp_dir.hpp"

#include <cstdlib>

#include <catch2/catch.hpp>

using namespace fsmirror;
using app::parse_sync_options;
using app::UsageError;

TEST_CASE("the safety flags set the sync's safety options", "[app][cli][safety]") {
    auto selection =
        parse_sync_options({"--source", "/a", "--target", "/b", "--max-delete-percent", "20",
                            "--max-delete-files", "5000", "--require-mount", "both",
                            "--verify-interval", "600", "--verify-checksum", "--state-dir", "st"},
                           "/home/op", "run");
    const auto& sync = selection.config.syncs.at(0);
    CHECK(sync.max_delete_percent == 20);
    CHECK(sync.max_delete_files == 5000);
    CHECK(sync.require_mount == config::RequireMount::both);
    CHECK(sync.verify_interval_seconds == 600);
    CHECK(sync.verify_checksum);
    CHECK(selection.state_dir == std::filesystem::path("/home/op/st"));
    CHECK_THROWS_WITH(
        parse_sync_options({"--source", "/a", "--target", "/b", "--max-delete-percent", "0"}, "/",
                           "run"),
        Catch::Contains("--max-delete-percent takes a whole number from 1 to 100"));
    CHECK_THROWS_WITH(
        parse_sync_options({"--source", "/a", "--target", "/b", "--require-mount", "yes"}, "/",
                           "run"),
        Catch::Contains("--require-mount takes none, source, target or both"));
}

TEST_CASE("command switches are accepted only by their commands", "[app][cli][safety]") {
    const std::vector<std::string> args{"--config", "/etc/f.yml", "--dry-run", "--skip-safety"};
    auto selection =
        parse_sync_options(args, "/", "run", {"--dry-run", "--skip-safety", "--allow-mass-delete"});
    CHECK(selection.has("--dry-run"));
    CHECK(selection.has("--skip-safety"));
    CHECK_FALSE(selection.has("--allow-mass-delete"));
    CHECK_THROWS_WITH(parse_sync_options(args, "/", "verify", {"--checksum", "--json"}),
                      Catch::Contains("unknown option '--dry-run'"));
    CHECK_THROWS_WITH(
        parse_sync_options({"--config", "f", "--dry-run=yes"}, "/", "run", {"--dry-run"}),
        Catch::Contains("--dry-run takes no value"));
}

TEST_CASE("FSMIRROR_SKIP_SAFETY=true counts as --skip-safety", "[app][cli][safety]") {
    auto selection = parse_sync_options({"--config", "/f.yml"}, "/", "run", {"--skip-safety"});
    ::setenv("FSMIRROR_SKIP_SAFETY", "true", 1);
    CHECK(selection.has("--skip-safety"));
    ::setenv("FSMIRROR_SKIP_SAFETY", "false", 1);
    CHECK_FALSE(selection.has("--skip-safety"));
    ::unsetenv("FSMIRROR_SKIP_SAFETY");
    CHECK_FALSE(selection.has("--skip-safety"));
    CHECK_FALSE(selection.has("--dry-run"));
}

TEST_CASE("the state directory: flag, config, systemd, default", "[app][safety]") {
    ::unsetenv("STATE_DIRECTORY");
    CHECK(app::resolve_state_dir(std::nullopt, std::nullopt) == "/var/lib/fsmirror");
    ::setenv("STATE_DIRECTORY", "/var/lib/fsmirror-a:/var/lib/other", 1);
    CHECK(app::resolve_state_dir(std::nullopt, std::nullopt) == "/var/lib/fsmirror-a");
    CHECK(app::resolve_state_dir(std::nullopt, "/cfg") == "/cfg");
    CHECK(app::resolve_state_dir("/flag", "/cfg") == "/flag");
    ::unsetenv("STATE_DIRECTORY");
}

TEST_CASE("control files carry a pause and a resume request", "[app][safety]") {
    test_support::TempDir dir("fsmirror-unit");
    app::ControlFiles files(dir / "state");
    CHECK_FALSE(files.read_paused("storage"));
    CHECK_FALSE(files.take_resume_request("storage"));

    engine::SessionStatus status;
    status.state = engine::SessionState::deletions_paused;
    status.reason = "the source root is empty";
    status.held_deletions = 12;
    REQUIRE(files.write_paused("storage", status));
    auto paused = files.read_paused("storage");
    REQUIRE(paused);
    CHECK_THAT(*paused, Catch::Contains("state=deletions_paused") &&
                            Catch::Contains("reason=the source root is empty") &&
                            Catch::Contains("held_deletions=12") &&
                            Catch::Contains("fsmirror resume --name storage"));

    REQUIRE(files.request_resume("storage"));
    CHECK(files.resume_pending("storage"));
    CHECK(files.take_resume_request("storage"));
    CHECK_FALSE(files.resume_pending("storage"));
    CHECK_FALSE(files.take_resume_request("storage"));

    REQUIRE(files.request_resume("storage"));
    files.clear_stale("storage");
    CHECK_FALSE(files.resume_pending("storage"));
    CHECK_FALSE(files.read_paused("storage"));
}
