// TreeMirror on real temp directories, through a transport that records the order of calls
// and injects the faults a test asks for.

#include "engine/tree_mirror.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/unit/tree_mirror_harness.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::engine;
using Harness = fsmirror::test_support::TreeMirrorHarness;

namespace {

// Rewrites the file at `path` to `content` of the same size and puts its mtime back: a change
// that size and mtime cannot show, only an event naming the path it went through.
void rewrite_keeping_mtime(const fs::path& path, std::string_view content) {
    auto mtime = test_support::get_mtime(path);
    test_support::overwrite_file(path, std::string(content));
    test_support::set_mtime(path, mtime);
}

std::ptrdiff_t position(const std::vector<std::string>& calls, const std::string& call) {
    auto found = std::find(calls.begin(), calls.end(), call);
    REQUIRE(found != calls.end());
    return found - calls.begin();
}

} // namespace

TEST_CASE("directories before children, deletions after transfers, directory times last",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    test_support::write_file(h.source / "old.txt", "old");
    h.open();
    REQUIRE(h.initial().failed.empty());
    fs::remove(h.source / "old.txt");
    fs::create_directories(h.source / "d/e");
    test_support::write_file(h.source / "d/e/f.txt", "f");
    test_support::write_file(h.source / "g.txt", "g");

    Batch batch;
    batch.changes = {{"d", ChangeKind::tree, 0},
                     {"g.txt", ChangeKind::create, 0},
                     {"old.txt", ChangeKind::remove, 0}};
    auto outcome = h.run(batch);
    REQUIRE(outcome.failed.empty());
    auto calls = h.recorder->calls();
    INFO(test_support::compare_trees(h.source, h.target, {}).size());
    CHECK(position(calls, "make_directory d") < position(calls, "make_directory d/e"));
    CHECK(position(calls, "make_directory d/e") < position(calls, "put_file d/e/f.txt"));
    CHECK(position(calls, "put_file d/e/f.txt") < position(calls, "remove old.txt"));
    CHECK(position(calls, "put_file g.txt") < position(calls, "remove old.txt"));
    // Directory attributes come after everything written into them, deepest first.
    CHECK(position(calls, "remove old.txt") < position(calls, "set_attributes d/e"));
    CHECK(position(calls, "set_attributes d/e") < position(calls, "set_attributes d"));
    CHECK(h.differences().empty());
}

TEST_CASE("moves run first, and a move the target cannot do becomes a copy",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    fs::create_directories(h.source / "dir");
    test_support::write_file(h.source / "dir/a", "a");
    h.open();
    REQUIRE(h.initial().failed.empty());
    auto inode = test_support::inode_of(h.target / "dir/a");

    fs::rename(h.source / "dir", h.source / "renamed");
    test_support::write_file(h.source / "renamed/b", "b");
    test_support::write_file(h.source / "never_on_target", "x");
    fs::rename(h.source / "never_on_target", h.source / "arrived");
    Batch batch;
    batch.moves = {{"dir", "renamed"}, {"ghost", "arrived"}};
    batch.changes = {{"renamed/b", ChangeKind::create, 0}};
    auto outcome = h.run(batch);
    REQUIRE(outcome.failed.empty());
    auto calls = h.recorder->calls();
    CHECK(position(calls, "rename dir -> renamed") < position(calls, "put_file renamed/b"));
    CHECK(test_support::inode_of(h.target / "renamed/a") == inode); // renamed, not copied
    CHECK(std::count(calls.begin(), calls.end(), "put_file arrived") == 1);
    CHECK(h.differences().empty());
}

TEST_CASE("one failing file is reported for a retry and never stops the others",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    for (int i = 0; i < 10; ++i)
        test_support::write_file(h.source / ("f" + std::to_string(i)), "content");
    h.open();
    h.recorder->set_fault_rule(
        [](const std::string& operation, std::string_view path) -> std::optional<base::Error> {
            if (operation == "put_file" && path == "f3")
                return base::Error{base::ErrorKind::no_space, "No space left on device", 28};
            return std::nullopt;
        });
    auto outcome = h.initial();
    REQUIRE(outcome.failed.size() == 1);
    CHECK(outcome.failed[0].change.path == "f3");
    CHECK(outcome.failed[0].change.attempts == 1);
    CHECK(outcome.failed[0].error.kind == base::ErrorKind::no_space);
    CHECK(h.differences().size() == 1); // only f3 is missing
    CHECK(h.mirror->counters().failures.load() == 1);

    h.recorder->set_fault_rule(nullptr);
    Batch retry;
    retry.changes = {outcome.failed[0].change};
    CHECK(h.run(retry).failed.empty());
    CHECK(h.differences().empty());
}

TEST_CASE("delete policies decide what leaves the target", "[engine][tree_mirror][concurrent]") {
    SECTION("startup deletions off keeps extras") {
        Harness h;
        test_support::write_file(h.target / "extra", "only on target");
        h.open(DeletePolicy{false, true});
        REQUIRE(h.initial().failed.empty());
        CHECK(test_support::exists_no_follow(h.target / "extra"));
    }
    SECTION("running deletions off keeps what the source lost") {
        Harness h;
        test_support::write_file(h.source / "gone", "x");
        h.open(DeletePolicy{true, false});
        REQUIRE(h.initial().failed.empty());
        fs::remove(h.source / "gone");
        Batch batch;
        batch.changes = {{"gone", ChangeKind::remove, 0}};
        REQUIRE(h.run(batch).failed.empty());
        CHECK(test_support::exists_no_follow(h.target / "gone"));
    }
    SECTION("delete=running: a rescan keeps startup extras, a confirmed removal deletes") {
        Harness h;
        test_support::write_file(h.source / "gone", "x");
        test_support::write_file(h.target / "extra", "only on target");
        h.open(DeletePolicy{false, true});
        REQUIRE(h.initial().failed.empty());
        fs::remove(h.source / "gone");
        REQUIRE(h.rescan().failed.empty());
        CHECK(test_support::exists_no_follow(h.target / "extra"));
        CHECK(test_support::exists_no_follow(h.target / "gone"));
        Batch removal;
        removal.changes = {{"gone", ChangeKind::remove, 0}};
        REQUIRE(h.run(removal).failed.empty());
        CHECK_FALSE(test_support::exists_no_follow(h.target / "gone"));
        CHECK(test_support::exists_no_follow(h.target / "extra"));
    }
    SECTION("a recovery pass never deletes") {
        Harness h;
        test_support::write_file(h.target / "extra", "only on target");
        h.open(DeletePolicy{true, true});
        Batch batch;
        batch.changes = {{"", ChangeKind::tree, 0}};
        REQUIRE(h.run(batch, Phase::recovery).failed.empty());
        CHECK(test_support::exists_no_follow(h.target / "extra"));
    }
}

TEST_CASE("a same-size rewrite with the old mtime is transferred when an event says so",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    test_support::write_file(h.source / "f", "aaaa");
    h.open();
    REQUIRE(h.initial().failed.empty());
    rewrite_keeping_mtime(h.source / "f", "bbbb");
    Batch batch;
    batch.changes = {{"f", ChangeKind::modify, 0}};
    REQUIRE(h.run(batch).failed.empty());
    CHECK(test_support::read_file(h.target / "f") == "bbbb");
}

TEST_CASE("a content change whose path is gone from the source is handed back, not dropped",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    std::filesystem::create_directory(h.source / "dir");
    test_support::write_file(h.source / "dir/f", "aaaa");
    h.open();
    REQUIRE(h.initial().failed.empty());
    // Rewritten in place with its old mtime, then its directory renamed before the batch ran.
    rewrite_keeping_mtime(h.source / "dir/f", "bbbb");
    std::filesystem::rename(h.source / "dir", h.source / "renamed");

    Batch stale;
    stale.changes = {{"dir/f", ChangeKind::modify, 0}};
    auto outcome = h.run(stale);
    REQUIRE(outcome.vanished.size() == 1);
    CHECK(outcome.vanished[0].path == "dir/f");

    // The rename's event re-keys it (PendingChanges::add_move); the next batch carries both.
    Batch next;
    next.moves = {{"dir", "renamed"}};
    next.changes = {{"renamed/f", ChangeKind::modify, 1}};
    REQUIRE(h.run(next).failed.empty());
    CHECK(h.differences().empty());
}

TEST_CASE("a renamed file whose old name was rewritten on the target is sent again",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    test_support::write_file(h.source / "f", "old content");
    h.open();
    REQUIRE(h.initial().failed.empty());
    // mv f g; echo new > f, and a batch for the new f ran before the rename was read: the
    // target's f already holds the new file when it is renamed to g.
    std::filesystem::rename(h.source / "f", h.source / "g");
    test_support::write_file(h.source / "f", "new content");
    Batch early;
    early.changes = {{"f", ChangeKind::modify, 0}};
    REQUIRE(h.run(early).failed.empty());

    Batch late;
    late.moves = {{"f", "g"}};
    late.changes = {{"f", ChangeKind::create, 0}};
    REQUIRE(h.run(late).failed.empty());
    CHECK(test_support::read_file(h.target / "g") == "old content");
    CHECK(h.differences().empty());
}

TEST_CASE("content written through a hard link whose name then went reaches the other names",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    std::filesystem::create_directories(h.source / "a");
    std::filesystem::create_directories(h.source / "b");
    test_support::write_file(h.source / "a/one", "aaaa");
    std::filesystem::create_hard_link(h.source / "a/one", h.source / "b/two");
    h.open();
    REQUIRE(h.initial().failed.empty());

    // Written through b/two (same size, old mtime), b renamed, then the name removed: the
    // batch sees the move and the removal, never the write.
    rewrite_keeping_mtime(h.source / "b/two", "bbbb");
    std::filesystem::rename(h.source / "b", h.source / "c");
    std::filesystem::remove(h.source / "c/two");
    Batch batch;
    batch.moves = {{"b", "c"}};
    batch.changes = {{"c/two", ChangeKind::remove, 0}};
    batch.lost_content = {"c/two"};
    REQUIRE(h.run(batch).failed.empty());
    CHECK(test_support::read_file(h.target / "a/one") == "bbbb");
    CHECK(h.differences().empty());
}

TEST_CASE("a new directory's comparison sends files the target already holds with equal size "
          "and mtime",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    h.open();
    REQUIRE(h.initial().failed.empty());
    // A comparison of the root ran before the creation of "new" was read and copied it; then
    // a file in it was rewritten keeping size and mtime, and that event was folded into the
    // new directory's comparison.
    std::filesystem::create_directory(h.source / "new");
    test_support::write_file(h.source / "new/f", "aaaa");
    Batch early;
    early.changes = {{"", ChangeKind::tree, 0}};
    REQUIRE(h.run(early).failed.empty());
    rewrite_keeping_mtime(h.source / "new/f", "bbbb");

    Batch late;
    late.changes = {{"new", ChangeKind::tree, 0, true}};
    REQUIRE(h.run(late).failed.empty());
    CHECK(test_support::read_file(h.target / "new/f") == "bbbb");
}

TEST_CASE("content written through a hard link's only other names, all gone, still arrives",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    test_support::write_file(h.source / "file", "aaaa");
    h.open();
    REQUIRE(h.initial().failed.empty());
    // ln file link (its creation noted), write through link keeping size and mtime, rm link:
    // "file" has one link again and was never known as a hard link.
    std::filesystem::create_hard_link(h.source / "file", h.source / "link");
    h.mirror->note_new_name("link");
    rewrite_keeping_mtime(h.source / "link", "bbbb");
    std::filesystem::remove(h.source / "link");

    Batch batch;
    batch.changes = {{"", ChangeKind::attrib, 0}};
    batch.lost_content = {"link"};
    auto outcome = h.run(batch);
    REQUIRE(outcome.rescan_needed);
    REQUIRE(h.rescan().failed.empty());
    CHECK(test_support::read_file(h.target / "file") == "bbbb");
}

TEST_CASE("a hard link made in a new directory before its watch, written through and gone "
          "before its comparison, reaches the other name",
          "[engine][tree_mirror][concurrent]") {
    // SSH seed 180048: `mkdir -p n/d/e; ln one n/d/e/c3`, a write through c3 (same size, old
    // mtime put back) and `mv n/d/e/c3 n/d/x`, all before the watch on n was set: no event
    // named c3. The creation of n was read while n/d/x still existed; n/d/x was removed
    // before the batch that compares n ran, so that comparison never saw the link.
    Harness h;
    test_support::write_file(h.source / "one", "aaaa");
    h.open();
    REQUIRE(h.initial().failed.empty());

    std::filesystem::create_directories(h.source / "n/d/e");
    std::filesystem::create_hard_link(h.source / "one", h.source / "n/d/e/c3");
    rewrite_keeping_mtime(h.source / "n/d/e/c3", "bbbb");
    std::filesystem::rename(h.source / "n/d/e/c3", h.source / "n/d/x");
    h.mirror->note_new_directory("n", 1000); // the creation of n is read
    std::filesystem::remove(h.source / "n/d/x");

    // The queue folds the removal into n's comparison; "one" was never known as a hard link,
    // so a rescan is asked for.
    h.run_asking_for_rescan({{"n", ChangeKind::tree, 0, true}});
    CHECK(test_support::read_file(h.target / "one") == "bbbb");
    CHECK(h.differences().empty());
}

TEST_CASE("a hard link made below a directory whose creation is queued, written through and "
          "removed with it, reaches the other name",
          "[engine][tree_mirror][concurrent]") {
    // SSH seed 190072: `mkdir -p n/b`, its creation read (the queue then keeps no event below
    // n: n's comparison stands for them); `ln one n/b/data0` read, `truncate n/b/data0` and
    // `rm -r n` before n's batch. The queue dropped n altogether, and "one" kept its old
    // content on the target.
    Harness h;
    test_support::write_file(h.source / "one", "aaaa");
    h.open();
    REQUIRE(h.initial().failed.empty());

    std::filesystem::create_directories(h.source / "n/b");
    h.mirror->note_new_directory("n", 1000);
    std::filesystem::create_hard_link(h.source / "one", h.source / "n/b/data0");
    h.mirror->note_new_name("n/b/data0");
    rewrite_keeping_mtime(h.source / "n/b/data0", "bbbb");
    std::filesystem::remove_all(h.source / "n");

    // n made and removed: only the root's attributes are left to look at; "one" was never
    // known as a hard link, so a rescan is asked for.
    h.run_asking_for_rescan({{"", ChangeKind::attrib, 0}});
    CHECK(test_support::read_file(h.target / "one") == "bbbb");
    CHECK(h.differences().empty());
}

TEST_CASE("a hard link found in a new directory and still there is sent by the comparison, "
          "with its other names",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    std::filesystem::create_directories(h.source / "a");
    test_support::write_file(h.source / "a/one", "aaaa");
    std::filesystem::create_hard_link(h.source / "a/one", h.source / "a/two");
    h.open();
    REQUIRE(h.initial().failed.empty()); // both names known

    std::filesystem::create_directories(h.source / "n");
    std::filesystem::create_hard_link(h.source / "a/one", h.source / "n/three");
    rewrite_keeping_mtime(h.source / "n/three", "bbbb");
    h.mirror->note_new_directory("n", 1000);

    Batch batch;
    batch.changes = {{"n", ChangeKind::tree, 0, true}};
    auto outcome = h.run(batch);
    REQUIRE(outcome.failed.empty());
    CHECK_FALSE(outcome.rescan_needed); // every name was known
    CHECK(test_support::read_file(h.target / "a/one") == "bbbb");
    CHECK(test_support::read_file(h.target / "a/two") == "bbbb");
    CHECK(h.differences().empty());
}

TEST_CASE("an inode whose known names were all removed is searched for again when it gets a "
          "new link",
          "[engine][tree_mirror][concurrent]") {
    // Local seed 200096: the index remembered that a rescan had looked for every name of an
    // inode at link count 2 after all its names were removed; a new file given that inode
    // number (ext4 reuses them), then linked and written through, never had its other name
    // looked for. Here the same inode leaves the tree and comes back, which needs no reuse.
    Harness h;
    test_support::write_file(h.source / "a", "aaaa");
    h.open();
    REQUIRE(h.initial().failed.empty());
    std::filesystem::create_hard_link(h.source / "a", h.source / "b");
    h.mirror->note_new_name("b");
    Batch link;
    link.changes = {{"b", ChangeKind::create, 0}};
    REQUIRE(h.run(link).rescan_needed); // "a" was not known as a hard link
    REQUIRE(h.rescan().failed.empty());

    // Both names go: "a" moved out of the tree, "b" removed.
    std::filesystem::rename(h.source / "a", h.dir / "outside");
    std::filesystem::remove(h.source / "b");
    Batch gone;
    gone.changes = {{"a", ChangeKind::remove, 0}, {"b", ChangeKind::remove, 0}};
    REQUIRE(h.run(gone).failed.empty());
    // Back in as "c", copied; then linked as "d" and written through "d" (same size, old mtime).
    std::filesystem::rename(h.dir / "outside", h.source / "c");
    h.mirror->note_new_name("c");
    Batch back;
    back.changes = {{"c", ChangeKind::create, 0}};
    REQUIRE(h.run(back).failed.empty());
    std::filesystem::create_hard_link(h.source / "c", h.source / "d");
    h.mirror->note_new_name("d");
    rewrite_keeping_mtime(h.source / "d", "bbbb");
    // "c" is not known as a hard link: a rescan is asked for.
    h.run_asking_for_rescan({{"d", ChangeKind::create, 0}});
    CHECK(test_support::read_file(h.target / "c") == "bbbb");
    CHECK(h.differences().empty());
}

TEST_CASE("the hard-link index follows a directory rename, names beside it included",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    for (const char* dir : {"d", "d-x", "e"})
        std::filesystem::create_directory(h.source / dir);
    test_support::write_file(h.source / "e/one", "aaaa");
    std::filesystem::create_hard_link(h.source / "e/one", h.source / "d/two");
    std::filesystem::create_hard_link(h.source / "e/one", h.source / "d-x/three");
    h.open();
    REQUIRE(h.initial().failed.empty());

    // d renamed, then the written name "three" removed: "z/two" and "e/one" must follow.
    std::filesystem::rename(h.source / "d", h.source / "z");
    rewrite_keeping_mtime(h.source / "d-x/three", "bbbb");
    std::filesystem::remove(h.source / "d-x/three");
    Batch batch;
    batch.moves = {{"d", "z"}};
    batch.changes = {{"d-x/three", ChangeKind::remove, 0}};
    batch.lost_content = {"d-x/three"};
    auto outcome = h.run(batch);
    CHECK_FALSE(outcome.rescan_needed); // every remaining name was known
    CHECK(test_support::read_file(h.target / "z/two") == "bbbb");
    CHECK(test_support::read_file(h.target / "e/one") == "bbbb");
    CHECK(h.differences().empty());
}

TEST_CASE("a hard-link name gone from where the index has it is kept for the rename not yet read",
          "[engine][tree_mirror]") {
    // SSH seed 140047: b/two's directory renamed (b -> c), a transfer of a/one looked for its
    // other name at b/two and forgot it, a rescan ran without seeing c, then c/two was written
    // (same size, old mtime) and removed. The lost content found no inode, and a/one kept the
    // old bytes.
    Harness h;
    std::filesystem::create_directories(h.source / "a");
    std::filesystem::create_directories(h.source / "b");
    test_support::write_file(h.source / "a/one", "aaaa");
    std::filesystem::create_hard_link(h.source / "a/one", h.source / "b/two");
    h.open();
    REQUIRE(h.initial().failed.empty());

    std::filesystem::rename(h.source / "b", h.source / "c");
    Batch look;
    look.changes = {{"a/one", ChangeKind::attrib, 0}};
    REQUIRE(h.run(look).failed.empty());
    // The rescan that follows runs while c is out of its sight (moved away and back here).
    std::filesystem::rename(h.source / "c", h.dir / "c");
    REQUIRE(h.rescan().failed.empty());
    std::filesystem::rename(h.dir / "c", h.source / "c");

    rewrite_keeping_mtime(h.source / "c/two", "bbbb");
    std::filesystem::remove(h.source / "c/two");
    Batch batch;
    batch.moves = {{"b", "c"}};
    batch.changes = {{"c/two", ChangeKind::remove, 0}};
    batch.lost_content = {"c/two"};
    REQUIRE(h.run(batch).failed.empty());
    CHECK(test_support::read_file(h.target / "a/one") == "bbbb");
    CHECK(h.differences().empty());
}

TEST_CASE("a file gone between its batch's look and its transfer is handed back",
          "[engine][tree_mirror][concurrent]") {
    Harness h;
    test_support::write_file(h.source / "f", "aaaa");
    h.open();
    REQUIRE(h.initial().failed.empty());
    test_support::write_file(h.source / "f", "bbbb");
    // What a worker sees when the file was renamed after the batch looked at it.
    h.recorder->set_fault_rule([](const std::string& operation, std::string_view path) {
        return operation == "put_file" && path == "f"
                   ? std::optional(base::Error{base::ErrorKind::not_found, "renamed away", 0})
                   : std::nullopt;
    });
    Batch batch;
    batch.changes = {{"f", ChangeKind::modify, 0}};
    auto outcome = h.run(batch);
    CHECK(outcome.failed.empty());
    REQUIRE(outcome.vanished.size() == 1);
    CHECK(outcome.vanished[0].path == "f");
    CHECK(outcome.vanished[0].kind == ChangeKind::modify);
}

TEST_CASE("a removal of an entry created and removed in one window deletes only what the target "
          "holds",
          "[engine][tree_mirror]") {
    Harness h;
    // copied.tmp reached the target through a comparison before its creation was read (local
    // seed 9); never.tmp did not.
    test_support::write_file(h.target / "copied.tmp", "copied by a comparison");
    h.open();
    Batch batch;
    Change copied{"copied.tmp", ChangeKind::remove, 0};
    copied.only_if_on_target = true;
    Change never{"never.tmp", ChangeKind::remove, 0};
    never.only_if_on_target = true;
    batch.changes = {copied, never};
    auto outcome = h.run(batch);
    CHECK(outcome.failed.empty());
    CHECK(outcome.held.empty());
    CHECK_FALSE(test_support::exists_no_follow(h.target / "copied.tmp"));
    const auto calls = h.recorder->calls();
    CHECK(std::count(calls.begin(), calls.end(), "remove copied.tmp") == 1);
    CHECK(std::count(calls.begin(), calls.end(), "remove never.tmp") == 0);
}
