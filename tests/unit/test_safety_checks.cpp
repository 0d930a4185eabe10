// The pure pre-flight predicates and the readers that gather their facts, on real temp dirs.

#include "safety/free_space.hpp"
#include "safety/mount_check.hpp"
#include "safety/target_ownership.hpp"
#include "safety/tree_census.hpp"
#include "safety/watch_headroom.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::safety;
using fsmirror::test_support::make_symlink;
using fsmirror::test_support::TempDir;
using fsmirror::test_support::write_file;

TEST_CASE("mountinfo lines give their mount points, escapes decoded", "[safety][mount]") {
    const std::string text =
        "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "36 22 0:32 / /mnt/storage\\040do\\0401 rw,nosuid shared:5 - tmpfs tmpfs rw\n"
        "garbage\n"
        "37 22 0:33 /sub /srv/bind rw - ext4 /dev/sdb1 rw";
    auto points = parse_mount_points(text);
    REQUIRE(points.size() == 3);
    CHECK(points[0] == "/");
    CHECK(points[1] == "/mnt/storage do 1");
    CHECK(points[2] == "/srv/bind");
}

TEST_CASE("is_mount_point knows / and an ordinary directory", "[safety][mount]") {
    TempDir dir("fsmirror-unit");
    CHECK(is_mount_point("/").value());
    CHECK_FALSE(is_mount_point(dir.path()).value());
    CHECK_FALSE(is_mount_point(dir / "missing"));
}

TEST_CASE("the mount finding names the role, the path and the fix", "[safety][mount]") {
    auto refused = check_mount_point("source", "/mnt/data", false);
    CHECK(refused.severity == Severity::error);
    CHECK(refused.check == "source-mount");
    CHECK_THAT(refused.message, Catch::Contains("not a mount point"));
    CHECK_THAT(refused.fix, Catch::Contains("mount the volume at /mnt/data"));
    CHECK(check_mount_point("target", "/mnt/b", true).severity == Severity::ok);
}

TEST_CASE("watch headroom refuses what does not fit and gives the sysctl", "[safety][watches]") {
    auto fits = check_watch_headroom("/src", WatchBudget{1000, 8192, 100});
    CHECK(fits.severity == Severity::ok);
    auto tight = check_watch_headroom("/src", WatchBudget{7000, 8192, 500});
    CHECK(tight.severity == Severity::warning);
    auto refused = check_watch_headroom("/src", WatchBudget{9000, 8192, 100});
    CHECK(refused.severity == Severity::error);
    CHECK(refused.check == "inotify-watches");
    CHECK_THAT(refused.message, Catch::Contains("9000") && Catch::Contains("8092 of"));
    CHECK_THAT(refused.fix, Catch::Contains("sysctl -w fs.inotify.max_user_watches=32768"));
    // In use by others counts against the limit.
    CHECK(check_watch_headroom("/src", WatchBudget{5000, 8192, 4000}).severity == Severity::error);
}

TEST_CASE("the watch limit and the watches in use can be read here", "[safety][watches]") {
    auto limit = read_max_user_watches();
    REQUIRE(limit);
    CHECK(*limit > 0);
    (void)count_watches_in_use(0); // must not throw on unreadable processes
}

TEST_CASE("free space: what is missing plus room in flight must fit", "[safety][space]") {
    SpaceNeed need;
    need.source_bytes = 10'000;
    need.target_bytes = 4'000;
    need.largest_file = 1'000;
    need.parallel_transfers = 2;
    need.source_entries = 100;
    need.target_entries = 40;
    CHECK(check_free_space("/t", need, SpaceAvailable{8'000, 1'000, true}).severity ==
          Severity::ok);
    auto refused = check_free_space("/t", need, SpaceAvailable{7'999, 1'000, true});
    CHECK(refused.severity == Severity::error);
    CHECK(refused.check == "free-space");
    CHECK_THAT(refused.message, Catch::Contains("only 7.8 KiB is free"));
    CHECK_THAT(refused.fix, Catch::Contains("df -h"));
    auto inodes = check_free_space("/t", need, SpaceAvailable{1'000'000, 59, true});
    CHECK(inodes.severity == Severity::error);
    CHECK_THAT(inodes.message, Catch::Contains("60 more inodes"));
    CHECK(check_free_space("/t", need, SpaceAvailable{1'000'000, 0, false}).severity ==
          Severity::ok);
    // Into an empty target each file's temporary copy is the file itself: no extra room.
    need.target_bytes = 0;
    CHECK(check_free_space("/t", need, SpaceAvailable{10'000, 1'000, true}).severity ==
          Severity::ok);
    CHECK(check_free_space("/t", need, SpaceAvailable{9'999, 1'000, true}).severity ==
          Severity::error);
    // An existing mirror needs only room for what changes.
    need.target_bytes = 10'000;
    CHECK(check_free_space("/t", need, SpaceAvailable{2'000, 1'000, true}).severity ==
          Severity::ok);
}

TEST_CASE("human_bytes picks a readable unit", "[safety][space]") {
    CHECK(human_bytes(512) == "512 bytes");
    CHECK(human_bytes(1536) == "1.5 KiB");
    CHECK(human_bytes(3ull << 30) == "3.0 GiB");
}

TEST_CASE("a census counts directories, entries and allocated bytes", "[safety][census]") {
    TempDir dir("fsmirror-unit");
    fs::create_directories(dir / "a/b");
    write_file(dir / "a/b/f", std::string(10'000, 'x'));
    write_file(dir / "g", "small");
    make_symlink("g", dir / "link");
    write_file(dir / ".fsmirror", "source=/x\n");
    auto census = take_census(dir.path(), RootMarker::count);
    REQUIRE(census);
    CHECK(census->directories == 3);
    CHECK(census->entries == 6);
    CHECK(census->bytes >= 10'000);
    CHECK(census->largest_file >= 10'000);
    auto as_target = take_census(dir.path(), RootMarker::skip);
    REQUIRE(as_target);
    CHECK(as_target->entries == 5);
    // Directories only: the same counts without a stat per file.
    auto counts = take_census(dir.path(), RootMarker::count, CensusDetail::counts_only);
    REQUIRE(counts);
    CHECK(counts->directories == 3);
    CHECK(counts->entries == 6);
    CHECK(counts->bytes == 0);
    CHECK(counts->complete);
    CHECK_FALSE(take_census(dir / "missing", RootMarker::count));
}

TEST_CASE("a census with a directory limit stops soon after passing it", "[safety][census]") {
    TempDir dir("fsmirror-unit");
    for (int i = 0; i < 40; ++i)
        fs::create_directories(dir / ("d" + std::to_string(i)) / "inner");
    auto whole = take_census(dir.path(), RootMarker::count, CensusDetail::counts_only, 81);
    REQUIRE(whole);
    CHECK(whole->complete);
    CHECK(whole->directories == 81);
    auto bounded = take_census(dir.path(), RootMarker::count, CensusDetail::counts_only, 10);
    REQUIRE(bounded);
    CHECK_FALSE(bounded->complete);
    CHECK(bounded->directories > 10);
    CHECK(bounded->directories <= 12); // one past the limit, plus the subtree it was in
}

TEST_CASE("an empty, new or marked target passes, a foreign one is refused",
          "[safety][ownership]") {
    TargetListing listing;
    listing.exists = false;
    CHECK(check_target_ownership("/src", "/t", listing, NonEmptyTarget::refuse).severity ==
          Severity::ok);
    listing.exists = true;
    CHECK(check_target_ownership("/src", "/t", listing, NonEmptyTarget::refuse).severity ==
          Severity::ok);

    listing.entry_count = 7;
    listing.sample = {"a.txt", "b/", "c"};
    auto refused = check_target_ownership("/src", "/t", listing, NonEmptyTarget::refuse);
    CHECK(refused.severity == Severity::error);
    CHECK(refused.check == "non-empty-target");
    CHECK(refused.path == "/t");
    CHECK_THAT(refused.message, Catch::Contains("holds 7 entries (a.txt, b/, c, ... 4 more)") &&
                                    Catch::Contains("no .fsmirror marker"));
    CHECK_THAT(refused.fix,
               Catch::Contains("--skip-safety") && Catch::Contains("FSMIRROR_SKIP_SAFETY=true"));
    auto allowed = check_target_ownership("/src", "/t", listing, NonEmptyTarget::allow);
    CHECK(allowed.severity == Severity::warning);
    CHECK_THAT(allowed.message, Catch::Contains("allowed by --skip-safety"));
    CHECK(check_target_ownership("/src", "/t", listing, NonEmptyTarget::report).severity ==
          Severity::warning);

    listing.marker = MarkerKind::file;
    listing.marker_info.source = "/src/";
    CHECK(check_target_ownership("/src", "/t", listing, NonEmptyTarget::refuse).severity ==
          Severity::ok);
    listing.marker_info.source = "";
    CHECK(check_target_ownership("/src", "/t", listing, NonEmptyTarget::refuse).severity ==
          Severity::ok);
    listing.marker = MarkerKind::directory;
    CHECK(check_target_ownership("/src", "/t", listing, NonEmptyTarget::refuse).severity ==
          Severity::ok);

    listing.marker = MarkerKind::file;
    listing.marker_info.source = "/elsewhere";
    auto foreign = check_target_ownership("/src", "/t", listing, NonEmptyTarget::refuse);
    CHECK(foreign.severity == Severity::error);
    CHECK_THAT(foreign.message, Catch::Contains("mirrors /elsewhere, not /src"));
}

TEST_CASE("the target listing reads the marker and skips temp files and ignored names",
          "[safety][ownership]") {
    TempDir dir("fsmirror-unit");
    auto listing = read_target_listing(dir / "missing");
    REQUIRE(listing);
    CHECK_FALSE(listing->exists);

    write_file(dir / ".fsmirror-0123456789abcdef.tmp", "in flight");
    write_file(dir / "kept.tmp", "excluded");
    listing = read_target_listing(
        dir.path(), [](std::string_view name, bool) { return name.ends_with(".tmp"); });
    REQUIRE(listing);
    CHECK(listing->exists);
    CHECK(listing->entry_count == 0);
    CHECK(listing->marker == MarkerKind::none);

    fs::create_directory(dir / "lost+found"); // empty on a freshly made file system
    listing = read_target_listing(
        dir.path(), [](std::string_view name, bool) { return name.ends_with(".tmp"); });
    REQUIRE(listing);
    CHECK(listing->entry_count == 0);
    write_file(dir / "lost+found/#1234", "recovered by fsck"); // that is somebody's data
    listing = read_target_listing(
        dir.path(), [](std::string_view name, bool) { return name.ends_with(".tmp"); });
    REQUIRE(listing);
    CHECK(listing->entry_count == 1);
    fs::remove_all(dir / "lost+found");

    fs::create_directory(dir / "sub");
    write_file(dir / "z", "");
    write_file(dir / ".fsmirror", "# comment\nsource=/data\nsync=storage\n");
    listing = read_target_listing(dir.path());
    REQUIRE(listing);
    CHECK(listing->entry_count == 3);
    CHECK(listing->sample == std::vector<std::string>{"kept.tmp", "sub/", "z"});
    CHECK(listing->marker == MarkerKind::file);
    CHECK(listing->marker_info.source == "/data");
    CHECK(listing->marker_info.sync_name == "storage");

    fs::remove(dir / ".fsmirror");
    fs::create_directory(dir / ".fsmirror");
    listing = read_target_listing(dir.path());
    REQUIRE(listing);
    CHECK(listing->marker == MarkerKind::directory);
}

TEST_CASE("a source file system that fits in the target's free space needs no census of sizes",
          "[safety][free_space]") {
    CHECK(fits_within(FileSystemUse{20, 10}, SpaceAvailable{20, 10, true}));
    CHECK_FALSE(fits_within(FileSystemUse{21, 5}, SpaceAvailable{20, 10, true}));
    CHECK_FALSE(fits_within(FileSystemUse{10, 11}, SpaceAvailable{20, 10, true}));
    // Inodes count only where both sides report them.
    CHECK(fits_within(FileSystemUse{10, 11}, SpaceAvailable{20, 0, false}));
    CHECK(fits_within(FileSystemUse{10, 0}, SpaceAvailable{20, 0, true}));
}
