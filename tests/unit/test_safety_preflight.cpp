// run_preflight on real directories: what it refuses and what it passes.

#include "safety/free_space.hpp"
#include "safety/preflight.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <filesystem>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::safety;
using fsmirror::test_support::TempDir;
using fsmirror::test_support::write_file;

namespace {

const Finding* find(const PreflightReport& report, const std::string& check) {
    auto it = std::find_if(report.findings.begin(), report.findings.end(),
                           [&](const Finding& f) { return f.check == check; });
    return it == report.findings.end() ? nullptr : &*it;
}

PreflightRequest request_for(const fs::path& source, const fs::path& target) {
    PreflightRequest request;
    request.source = source;
    request.target = target;
    return request;
}

std::string failures(const PreflightReport& report) {
    std::string text;
    for (const auto& f : report.findings)
        if (f.severity == Severity::error)
            text += format_finding(f) + "\n";
    return text;
}

} // namespace

TEST_CASE("a fresh source and an empty target pass every check", "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directories(dir / "src/a/b");
    write_file(dir / "src/a/f", "data");
    fs::create_directory(dir / "dst");
    auto report = run_preflight(request_for(dir / "src", dir / "dst"));
    INFO(failures(report));
    CHECK(report.passed());
    CHECK(report.watches_needed == 3);
    for (const char* check :
         {"source", "target", "paths", "non-empty-target", "inotify-watches", "free-space"}) {
        INFO(check);
        REQUIRE(find(report, check));
        CHECK(find(report, check)->severity == Severity::ok);
    }
    CHECK_FALSE(find(report, "source-mount"));
}

TEST_CASE("a missing target in an existing parent passes, without a parent it fails",
          "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    write_file(dir / "src/f", "x");
    auto report = run_preflight(request_for(dir / "src", dir / "new"));
    INFO(failures(report));
    CHECK(report.passed());
    CHECK_THAT(find(report, "target")->message, Catch::Contains("will be created"));

    auto orphan = run_preflight(request_for(dir / "src", dir / "no/such/dir"));
    CHECK_FALSE(orphan.passed());
    CHECK(find(orphan, "target")->severity == Severity::error);
}

TEST_CASE("a missing source or a file as source fails and skips the walks", "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "dst");
    auto missing = run_preflight(request_for(dir / "nothing", dir / "dst"));
    CHECK_FALSE(missing.passed());
    CHECK(find(missing, "source")->severity == Severity::error);
    CHECK_FALSE(find(missing, "inotify-watches"));
    write_file(dir / "file", "x");
    auto file = run_preflight(request_for(dir / "file", dir / "dst"));
    CHECK_THAT(find(file, "source")->message, Catch::Contains("not a directory"));
}

TEST_CASE("an empty source is a warning, not a refusal", "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    fs::create_directory(dir / "dst");
    auto report = run_preflight(request_for(dir / "src", dir / "dst"));
    CHECK(report.passed());
    CHECK(find(report, "source")->severity == Severity::warning);
    CHECK_THAT(find(report, "source")->message, Catch::Contains("empty"));
}

TEST_CASE("overlapping paths are refused even when the non-empty check is skipped",
          "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directories(dir / "src/inner");
    write_file(dir / "src/f", "x");
    PreflightRequest request = request_for(dir / "src", dir / "src/inner");
    request.non_empty = NonEmptyTarget::allow;
    auto inside = run_preflight(request);
    CHECK_FALSE(inside.passed());
    CHECK(find(inside, "paths")->severity == Severity::error);
    request.target = dir / "src";
    CHECK_FALSE(run_preflight(request).passed());
    request.source = dir / "src/inner";
    request.target = dir / "src";
    CHECK_FALSE(run_preflight(request).passed());
    request.source = dir / "src";
    request.target = "/";
    CHECK(find(run_preflight(request), "paths")->severity == Severity::error);
}

TEST_CASE("a non-empty target is refused unless allowed or marked", "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    write_file(dir / "src/f", "x");
    fs::create_directory(dir / "dst");
    write_file(dir / "dst/precious", "not ours");
    PreflightRequest request = request_for(dir / "src", dir / "dst");
    auto refused = run_preflight(request);
    CHECK_FALSE(refused.passed());
    CHECK_THAT(find(refused, "non-empty-target")->message, Catch::Contains("precious"));
    request.non_empty = NonEmptyTarget::allow;
    CHECK(run_preflight(request).passed());
    request.non_empty = NonEmptyTarget::refuse;
    write_file(dir / "dst/.fsmirror", "source=" + (dir / "src").string() + "\n");
    auto marked = run_preflight(request);
    INFO(failures(marked));
    CHECK(marked.passed());
}

TEST_CASE("require_mount refuses a plain directory", "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    write_file(dir / "src/f", "x");
    fs::create_directory(dir / "dst");
    PreflightRequest request = request_for(dir / "src", dir / "dst");
    request.require_source_mount = true;
    request.require_target_mount = true;
    auto report = run_preflight(request);
    CHECK_FALSE(report.passed());
    CHECK(find(report, "source-mount")->severity == Severity::error);
    CHECK(find(report, "target-mount")->severity == Severity::error);
}

TEST_CASE("sync runs skip the inotify check", "[safety][preflight]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    write_file(dir / "src/f", "x");
    PreflightRequest request = request_for(dir / "src", dir / "dst");
    request.watches = WatchCheck::no;
    CHECK_FALSE(find(run_preflight(request), "inotify-watches"));
}

TEST_CASE("under events auto the census stops at fanotify's threshold only when fanotify is "
          "usable, and asks only for a tree past it",
          "[safety][preflight]") {
    // The stop applies when free space is settled by the file systems' totals: a source on
    // a nearly empty tmpfs (/dev/shm) makes sure of that here.
    const fs::path shm = "/dev/shm";
    TempDir dir("fsmirror-unit");
    const fs::path source = fs::is_directory(shm) ? shm / dir.path().filename() : dir / "src";
    struct RemoveAfter {
        fs::path path;
        ~RemoveAfter() {
            std::error_code ignored;
            fs::remove_all(path, ignored);
        }
    } cleanup{source};
    for (int i = 0; i < 12; ++i)
        fs::create_directories(source / ("d" + std::to_string(i)));
    auto use = read_file_system_use(source);
    auto available = read_free_space(dir.path());
    REQUIRE(use);
    REQUIRE(available);
    if (!fits_within(*use, *available)) {
        WARN("not run: the source's file system does not fit the target's free space here");
        return;
    }
    int asked = 0;
    auto request = request_for(source, dir / "dst");
    request.watches_unneeded_above = 5;

    request.fanotify_usable = [&] {
        return ++asked, true;
    };
    auto stopped = run_preflight(request);
    CHECK(asked == 1);
    REQUIRE(stopped.directories_counted);
    CHECK(*stopped.directories_counted > 5);
    CHECK(*stopped.directories_counted < 13);
    CHECK(stopped.watches_needed == 0);
    REQUIRE(find(stopped, "inotify-watches"));
    CHECK_THAT(find(stopped, "inotify-watches")->message,
               Catch::Contains("more than 5 directories: fanotify watches the tree"));

    request.fanotify_usable = [&] {
        return ++asked, false;
    };
    auto counted = run_preflight(request);
    CHECK(asked == 2);
    CHECK(counted.directories_counted == 13u);
    CHECK(counted.watches_needed == 13);
    REQUIRE(find(counted, "inotify-watches"));
    CHECK_THAT(find(counted, "inotify-watches")->message, Catch::Contains("13 directories"));

    request.watches_unneeded_above = 50;
    auto small = run_preflight(request);
    CHECK(asked == 2); // a tree below the threshold never asks
    CHECK(small.directories_counted == 13u);
}
