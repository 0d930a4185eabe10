// The binary as an operator drives it: relative paths, one-shot `sync`, a YAML file with
// several syncs, and signals.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <csignal>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;
using fsmirror::integration::k_exit_timeout;
using fsmirror::integration::MirrorFixture;

TEST_CASE("relative --source and --target resolve against the working directory",
          "[integration][app]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 5, 12);

    mirror.start_with_args({"run", "--source", "source", "--target", "target", "--delay",
                            fsmirror::integration::k_test_delay},
                           mirror.root(), 1);
    mirror.require_mirrored();

    write_file(mirror.source() / "d000/added.txt", "added while running\n");
    fs::remove(mirror.source() / "f000");
    mirror.require_mirrored();
}

TEST_CASE("sync mirrors once and exits 0", "[integration][app]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 12, 40);
    make_symlink("d000/f001", mirror.source() / "link");
    write_file(mirror.target() / "stale.txt", "deleted by default\n");
    // A target holding something fsmirror did not write is refused unless the operator says so.
    const std::vector<std::string> args{
        "sync",         "--source", mirror.source().string(), "--target", mirror.target().string(),
        "--skip-safety"};

    REQUIRE(mirror.run_to_completion(args) == 0);
    // No waiting: when `sync` has exited the mirror is complete.
    const std::vector<std::string> differences = compare_trees(mirror.source(), mirror.target());
    INFO(fsmirror::integration::join_lines(differences));
    CHECK(differences.empty());
    CHECK(find_temp_files(mirror.target()).empty());

    // A second run brings an existing mirror up to date.
    append_file(mirror.source() / "d000/f001", "changed\n");
    fs::remove(mirror.source() / "f000");
    fs::create_directory(mirror.source() / "fresh");
    REQUIRE(mirror.run_to_completion(args) == 0);
    const std::vector<std::string> after = compare_trees(mirror.source(), mirror.target());
    INFO(fsmirror::integration::join_lines(after));
    CHECK(after.empty());
    CHECK(find_temp_files(mirror.target()).empty());
}

TEST_CASE("a YAML config with two syncs mirrors both", "[integration][app][config]") {
    MirrorFixture mirror;
    const fs::path first_source = mirror.root() / "first/source";
    const fs::path first_target = mirror.root() / "first/target";
    const fs::path second_source = mirror.root() / "second/source";
    const fs::path second_target = mirror.root() / "second/target";
    for (const fs::path& dir : {first_source, first_target, second_source, second_target})
        fs::create_directories(dir);
    make_tree(first_source, 6, 20, 1);
    make_tree(second_source, 4, 10, 2);
    write_file(second_source / "ignored.skip", "excluded in the second sync only\n");
    const fs::path config = mirror.root() / "fsmirror.yml";
    write_file(config, fmt::format(R"(syncs:
  - name: first
    source: {}
    target: {}
    delay: {}
  - name: second
    source: {}
    target: {}
    delay: {}
    exclude:
      - "*.skip"
)",
                                   first_source.string(), first_target.string(),
                                   fsmirror::integration::k_test_delay, second_source.string(),
                                   second_target.string(), fsmirror::integration::k_test_delay));

    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 2);

    CompareOptions second_options;
    second_options.ignored = {"ignored.skip"};
    mirror.require_mirrored(first_source, first_target);
    mirror.require_mirrored(second_source, second_target, second_options);
    CHECK_FALSE(exists_no_follow(second_target / "ignored.skip"));

    write_file(first_source / "d000/one.txt", "first sync, running\n");
    write_file(second_source / "d000/two.txt", "second sync, running\n");
    write_file(second_source / "d000/also.skip", "excluded\n");
    write_file(second_source / "d000/three.txt", "after the excluded one\n");
    second_options.ignored.push_back("d000/also.skip");
    mirror.require_mirrored(first_source, first_target);
    mirror.require_mirrored(second_source, second_target, second_options);
    CHECK_FALSE(exists_no_follow(first_target / "d000/two.txt"));
    CHECK_FALSE(exists_no_follow(second_target / "d000/one.txt"));
}

TEST_CASE("SIGTERM during a burst of writes exits 0 and leaves no temp files",
          "[integration][app][signal][concurrent]") {
    MirrorFixture mirror;
    mirror.start();
    fs::create_directory(mirror.source() / "burst");

    // A first wave, then wait until transfers are under way so the signal lands mid-work.
    for (int i = 0; i < 100; ++i)
        write_file(mirror.source() / fmt::format("burst/first-{:03}", i),
                   make_content(64 * 1024, static_cast<unsigned>(i)));
    const bool transferring = wait_until(
        [&] {
            return fs::exists(mirror.target() / "burst") &&
                   !fs::is_empty(mirror.target() / "burst");
        },
        k_settle_timeout);
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(transferring);

    for (int i = 0; i < 100; ++i) {
        write_file(mirror.source() / fmt::format("burst/second-{:03}", i),
                   make_content(64 * 1024, static_cast<unsigned>(1000 + i)));
        if (i == 50)
            REQUIRE(mirror.daemon().send_signal(SIGTERM));
    }
    const std::optional<int> status = mirror.daemon().wait_for_exit(k_exit_timeout);
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(status.has_value());
    CHECK(*status == 0);
    const std::vector<fs::path> temp_files = find_temp_files(mirror.target());
    CHECK(temp_files.empty());

    // Whatever state the signal left behind, a later run converges from it.
    REQUIRE(mirror.run_to_completion({"sync", "--source", mirror.source().string(), "--target",
                                      mirror.target().string()}) == 0);
    const std::vector<std::string> differences = compare_trees(mirror.source(), mirror.target());
    INFO(fsmirror::integration::join_lines(differences));
    CHECK(differences.empty());
}

TEST_CASE("SIGINT stops an idle daemon cleanly", "[integration][app][signal][concurrent]") {
    MirrorFixture mirror;
    make_tree(mirror.source(), 3, 5);
    mirror.start();
    mirror.require_mirrored();

    REQUIRE(mirror.daemon().send_signal(SIGINT));
    const std::optional<int> status = mirror.daemon().wait_for_exit(k_exit_timeout);
    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(status.has_value());
    CHECK(*status == 0);
}

TEST_CASE("SIGTERM stops an idle daemon cleanly", "[integration][app][signal][concurrent]") {
    MirrorFixture mirror;
    mirror.start();
    write_file(mirror.source() / "one.txt", "one\n");
    mirror.require_mirrored();

    mirror.stop();
}
