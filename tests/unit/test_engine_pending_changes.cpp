#include "engine/pending_changes.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::engine;
using namespace std::chrono_literals;

namespace {

FsEvent event(EventKind kind, std::string path, bool is_directory = false) {
    return FsEvent{kind, std::move(path), "", is_directory};
}

// An event for a write whose close has not been seen yet.
FsEvent still_writing(EventKind kind, std::string path) {
    return FsEvent{kind, std::move(path), "", false, true};
}

FsEvent moved(std::string from, std::string to, bool is_directory = false) {
    return FsEvent{EventKind::moved, std::move(to), std::move(from), is_directory};
}

PendingChanges make_queue(std::chrono::nanoseconds delay = 1s, std::size_t max_delays = 1000) {
    return PendingChanges(PendingChangesOptions{delay, max_delays});
}

const TimePoint t0{};

// "Kind path" per change, "." for the root, so failures print readably.
std::vector<std::string> changes_of(const Batch& batch) {
    std::vector<std::string> result;
    for (const auto& change : batch.changes)
        result.push_back(std::string(to_string(change.kind)) +
                         (change.only_if_on_target ? " if there " : " ") +
                         (change.path.empty() ? "." : change.path));
    return result;
}

using Lines = std::vector<std::string>;

} // namespace

TEST_CASE("collapse: the table of event pairs", "[engine][batcher]") {
    using K = ChangeKind;
    CHECK(collapse(K::create, K::modify, true) == K::create);
    CHECK(collapse(K::create, K::attrib, true) == K::create);
    CHECK(collapse(K::create, K::remove, true) == std::nullopt);
    CHECK(collapse(K::modify, K::remove, false) == K::remove);
    CHECK(collapse(K::modify, K::modify, false) == K::modify);
    CHECK(collapse(K::modify, K::attrib, false) == K::modify);
    CHECK(collapse(K::attrib, K::attrib, false) == K::attrib);
    CHECK(collapse(K::attrib, K::modify, false) == K::modify);
    CHECK(collapse(K::remove, K::create, false) == K::modify);
    CHECK(collapse(K::remove, K::modify, false) == K::modify);
    CHECK(collapse(K::tree, K::modify, false) == K::tree);
    CHECK(collapse(K::modify, K::tree, false) == K::tree);
    CHECK(collapse(K::tree, K::remove, false) == K::remove);
    // A tree that began as a creation and is removed again cancels out.
    CHECK(collapse(K::tree, K::remove, true) == std::nullopt);
}

TEST_CASE("create then modify is one create and many writes are one", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "a.txt"), t0);
    for (int i = 0; i < 50; ++i)
        queue.add_event(event(EventKind::modified, "a.txt"), t0 + 1ms * i);
    REQUIRE(queue.size() == 2); // a.txt, and its directory whose mtime changed
    auto batch = queue.take(t0 + 2s);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Create a.txt"});
    CHECK(queue.empty());
}

TEST_CASE("create then delete deletes only what the target holds and modify then delete is a "
          "delete",
          "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "gone.tmp"), t0);
    queue.add_event(event(EventKind::modified, "gone.tmp"), t0);
    queue.add_event(event(EventKind::removed, "gone.tmp"), t0);
    queue.add_event(event(EventKind::modified, "old.txt"), t0);
    queue.add_event(event(EventKind::removed, "old.txt"), t0);
    auto batch = queue.take(t0 + 2s);
    // A comparison may have copied gone.tmp before its creation was read (local seed 9).
    CHECK(changes_of(batch) == Lines{"Attrib .", "Delete if there gone.tmp", "Delete old.txt"});
}

TEST_CASE("delete then create is a rewrite, not a no-op", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::removed, "x"), t0);
    queue.add_event(event(EventKind::created, "x"), t0);
    queue.add_event(event(EventKind::removed, "x"), t0);
    // removed after remove+create: the target still holds the old x, so it must go.
    auto batch = queue.take(t0 + 2s);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Delete x"});
}

TEST_CASE("the delay runs from the first event, so a busy file is still flushed",
          "[engine][batcher]") {
    auto queue = make_queue(1s);
    queue.add_event(event(EventKind::modified, "log"), t0);
    CHECK_FALSE(queue.is_due(t0 + 999ms));
    queue.add_event(event(EventKind::modified, "log"), t0 + 999ms);
    CHECK(queue.is_due(t0 + 1s));
    REQUIRE(queue.next_due().has_value());
    CHECK(*queue.next_due() == t0 + 1s);
}

TEST_CASE("a zero delay is due at once", "[engine][batcher]") {
    auto queue = make_queue(0s);
    CHECK_FALSE(queue.is_due(t0));
    queue.add_event(event(EventKind::created, "a"), t0);
    CHECK(queue.is_due(t0));
}

TEST_CASE("max_delays flushes early", "[engine][batcher]") {
    auto queue = make_queue(60s, 4); // each file, and their directory
    queue.add_event(event(EventKind::created, "a"), t0);
    queue.add_event(event(EventKind::created, "b"), t0);
    CHECK_FALSE(queue.is_due(t0));
    queue.add_event(event(EventKind::created, "c"), t0);
    CHECK(queue.is_due(t0));
}

TEST_CASE("a new directory swallows events below it", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "d/x"), t0);
    queue.add_event(event(EventKind::created, "d", true), t0);
    queue.add_event(event(EventKind::created, "d/y"), t0);
    queue.add_event(event(EventKind::modified, "d/sub/z"), t0);
    queue.add_event(event(EventKind::created, "dd"), t0); // a sibling sharing the prefix
    auto batch = queue.take(t0 + 2s);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Full d", "Create dd"});
}

TEST_CASE("an entry that cancels out still leaves its directory due for its times",
          "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "d/tmp"), t0);
    queue.add_event(event(EventKind::removed, "d/tmp"), t0);
    CHECK(changes_of(queue.take(t0 + 2s)) == Lines{"Attrib d", "Delete if there d/tmp"});
    queue.add_event(event(EventKind::created, "e/new"), t0);
    queue.add_event(moved("e/new", "f/final"), t0);
    // The old name's removal is for a comparison that may have copied it before the events.
    CHECK(changes_of(queue.take(t0 + 2s)) ==
          Lines{"Attrib e", "Delete e/new", "Attrib f", "Create f/final"});
}

TEST_CASE("a directory created and removed again takes its children with it", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "d", true), t0);
    queue.add_event(event(EventKind::created, "d/x"), t0);
    queue.add_event(event(EventKind::removed, "d/x"), t0);
    queue.add_event(event(EventKind::removed, "d", true), t0);
    CHECK(changes_of(queue.take(t0 + 2s)) == Lines{"Attrib .", "Delete if there d"});
}

TEST_CASE("a rescan keeps the changes below it, since a comparison may skip them",
          "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::modified, "a"), t0);
    queue.add_event(event(EventKind::removed, "b/c"), t0);
    queue.add_event(FsEvent{EventKind::rescan, "", "", true}, t0);
    queue.add_event(event(EventKind::modified, "e"), t0);
    auto batch = queue.take(t0 + 2s);
    CHECK(changes_of(batch) == Lines{"Full .", "Modify a", "Attrib b", "Delete b/c", "Modify e"});
}

TEST_CASE("a rename of an existing file is a move, not a copy", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(moved("a.txt", "b.txt"), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 1);
    CHECK(batch.moves[0].from == "a.txt");
    CHECK(batch.moves[0].to == "b.txt");
    CHECK(changes_of(batch) == Lines{"Attrib ."}); // only the directory's times
}

TEST_CASE("changes queued under the old name follow a move", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::modified, "dir/file"), t0);
    queue.add_event(event(EventKind::attrib, "dir"), t0);
    queue.add_event(moved("dir", "renamed", true), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 1);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Attrib renamed", "Modify renamed/file"});
}

TEST_CASE("moving a file created in the same window is a create at the new name",
          "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "tmp123"), t0);
    queue.add_event(event(EventKind::modified, "tmp123"), t0);
    queue.add_event(moved("tmp123", "final.txt"), t0);
    auto batch = queue.take(t0 + 2s);
    CHECK(batch.moves.empty());
    // The removal covers a comparison that copied tmp123 before its events were read.
    CHECK(changes_of(batch) == Lines{"Attrib .", "Create final.txt", "Delete tmp123"});
}

TEST_CASE("a move over a path drops what was queued for the replaced entry, not below it",
          "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::modified, "b"), t0);
    queue.add_event(event(EventKind::modified, "b/child"), t0);
    queue.add_event(moved("a", "b"), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 1);
    // The change below is looked at again (the batch looks at the source as it is then).
    CHECK(changes_of(batch) == Lines{"Attrib .", "Modify b/child"});
    CHECK(batch.lost_content == Lines{"b"});
}

TEST_CASE("a change named under a directory's new name before its rename is read is kept",
          "[engine][batcher]") {
    // fanotify resolves an event's directory when the event is read: a write to b/two, then
    // `mv b c`, arrives as "modified c/two" followed by the move b -> c.
    auto queue = make_queue();
    queue.add_event(event(EventKind::modified, "c/two"), t0);
    queue.add_event(moved("b", "c", true), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 1);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Modify c/two"});

    // And removed there afterwards (through one name of a hard-linked file): the content is
    // lost with the name, and reported for the other names.
    queue.add_event(event(EventKind::modified, "e/two"), t0);
    queue.add_event(moved("d", "e", true), t0);
    queue.add_event(event(EventKind::removed, "e/two"), t0);
    auto second = queue.take(t0 + 2s);
    CHECK(changes_of(second) == Lines{"Attrib .", "Attrib e", "Delete e/two"});
    CHECK(second.lost_content == Lines{"e/two"});

    // A creation named there early is no creation within this window any more: its removal
    // must still delete what the move brought.
    queue.add_event(event(EventKind::created, "h/three"), t0);
    queue.add_event(moved("g", "h", true), t0);
    queue.add_event(event(EventKind::removed, "h/three"), t0);
    auto third = queue.take(t0 + 2s);
    CHECK(changes_of(third) == Lines{"Attrib .", "Attrib h", "Delete h/three"});
}

TEST_CASE("a move into a new directory keeps the changes made below it afterwards",
          "[engine][batcher]") {
    // mkdir new; mv old new/old; then a same-size rewrite inside: the comparison of "new"
    // would find the renamed copy up to date by size and mtime, so the change must stay.
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "new", true), t0);
    queue.add_event(moved("old", "new/old", true), t0);
    queue.add_event(event(EventKind::modified, "new/old/file"), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 1);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Full new", "Modify new/old/file"});

    // And if the new directory goes again, the target must lose what the rename put there.
    queue.add_event(event(EventKind::created, "n2", true), t0);
    queue.add_event(moved("o2", "n2/o2", true), t0);
    queue.add_event(event(EventKind::removed, "n2/o2", true), t0);
    queue.add_event(event(EventKind::removed, "n2", true), t0);
    auto second = queue.take(t0 + 2s);
    REQUIRE(second.moves.size() == 1);
    CHECK(changes_of(second) == Lines{"Attrib .", "Delete n2", "Delete n2/o2"});
}

TEST_CASE("chained moves keep their order", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(moved("a", "tmp"), t0);
    queue.add_event(moved("b", "a"), t0);
    queue.add_event(moved("tmp", "b"), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 3);
    CHECK(batch.moves[0].from == "a");
    CHECK(batch.moves[1].from == "b");
    CHECK(batch.moves[2].from == "tmp");
    CHECK(batch.moves[2].to == "b");
}

TEST_CASE("a move inside a new directory needs no rename on the target", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "new", true), t0);
    queue.add_event(moved("new/a", "new/b"), t0);
    auto batch = queue.take(t0 + 2s);
    CHECK(batch.moves.empty());
    CHECK(changes_of(batch) == Lines{"Attrib .", "Full new"});
}

TEST_CASE("retries wait for their time, and a fresh event makes them eligible again",
          "[engine][batcher]") {
    auto queue = make_queue(1s);
    queue.add_retry(Change{"stuck", ChangeKind::modify, 3}, t0 + 8s);
    CHECK_FALSE(queue.is_due(t0 + 7s));
    CHECK(queue.take(t0 + 7s).changes.empty());
    CHECK(queue.is_due(t0 + 8s));
    auto batch = queue.take(t0 + 8s);
    REQUIRE(batch.changes.size() == 1);
    CHECK(batch.changes[0].attempts == 3);

    queue.add_retry(Change{"stuck", ChangeKind::modify, 4}, t0 + 60s);
    queue.add_event(event(EventKind::modified, "stuck"), t0 + 9s);
    CHECK(queue.is_due(t0 + 10s));
    auto again = queue.take(t0 + 10s);
    REQUIRE(again.changes.size() == 1);
    CHECK(again.changes[0].attempts == 0);
}

TEST_CASE("items lists what is queued for the status file", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "a"), t0);
    queue.add_event(event(EventKind::removed, "b"), t0);
    auto items = queue.items(t0);
    REQUIRE(items.size() == 3);
    CHECK(items[0].path == "");
    CHECK(items[1].path == "a");
    CHECK(std::string(to_string(items[1].kind)) == "Create");
    CHECK(std::string(to_string(items[2].kind)) == "Delete");
}

TEST_CASE("with no delay, a file still being written waits for its close", "[engine][batcher]") {
    auto queue = make_queue(0s);
    queue.add_event(still_writing(EventKind::created, "a.txt"), t0);
    queue.add_event(still_writing(EventKind::modified, "a.txt"), t0);
    CHECK_FALSE(queue.is_due(t0));
    CHECK(queue.next_due() == t0 + k_write_close_grace);
    // The close: due at once, and the file is copied once.
    queue.add_event(event(EventKind::modified, "a.txt"), t0 + 1ms);
    REQUIRE(queue.is_due(t0 + 1ms));
    CHECK(changes_of(queue.take(t0 + 1ms)) == Lines{"Attrib .", "Create a.txt"});
}

TEST_CASE("a file held open is mirrored after the grace", "[engine][batcher]") {
    auto queue = make_queue(0s);
    queue.add_event(still_writing(EventKind::modified, "app.log"), t0);
    for (int i = 1; i < 40; ++i)
        queue.add_event(still_writing(EventKind::modified, "app.log"), t0 + 1ms * i);
    CHECK_FALSE(queue.is_due(t0 + k_write_close_grace - 1ms));
    REQUIRE(queue.is_due(t0 + k_write_close_grace));
    CHECK(changes_of(queue.take(t0 + k_write_close_grace)) == Lines{"Modify app.log"});
}

TEST_CASE("files written one after another hold the batch only once", "[engine][batcher]") {
    auto queue = make_queue(0s);
    for (int i = 0; i < 100; ++i)
        queue.add_event(still_writing(EventKind::created, "f" + std::to_string(i)), t0 + 10ms * i);
    // The newest write began at 990 ms, but the batch waits at most one grace past the
    // oldest change's due time.
    CHECK(queue.next_due() == t0 + k_write_close_grace);
}

TEST_CASE("a delay longer than the grace is not extended by a write", "[engine][batcher]") {
    auto queue = make_queue(1s);
    queue.add_event(still_writing(EventKind::created, "a.txt"), t0);
    CHECK(queue.next_due() == t0 + 1s);
    queue.add_event(still_writing(EventKind::modified, "b.txt"), t0 + 990ms);
    CHECK(queue.next_due() == t0 + 990ms + k_write_close_grace);
    queue.add_event(event(EventKind::modified, "b.txt"), t0 + 995ms);
    CHECK(queue.next_due() == t0 + 1s);
}

TEST_CASE("a change handed back because its path vanished follows the rename read after it",
          "[engine][batcher]") {
    auto queue = make_queue();
    // The batch holding "Modify dir/file" ran after dir had been renamed on the source.
    queue.add_vanished(Change{"dir/file", ChangeKind::modify, 1}, t0);
    queue.add_event(moved("dir", "renamed", true), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 1);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Modify renamed/file"});
    CHECK(batch.changes.back().attempts == 1);
}

TEST_CASE("a content change lost with its name is reported under the name after later moves",
          "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::modified, "dir/link"), t0);
    queue.add_event(moved("dir/link", "dir/renamed"), t0);
    queue.add_event(event(EventKind::removed, "dir/renamed"), t0);
    queue.add_event(moved("dir", "moved", true), t0);
    // A created-and-removed name, and a name a move replaced, lose their content too.
    queue.add_event(event(EventKind::created, "new"), t0);
    queue.add_event(event(EventKind::removed, "new"), t0);
    queue.add_event(event(EventKind::modified, "over"), t0);
    queue.add_event(moved("other", "over"), t0);
    // A chmod through one hard link changes them all.
    queue.add_event(event(EventKind::attrib, "mode"), t0);
    queue.add_event(event(EventKind::removed, "mode"), t0);
    auto batch = queue.take(t0 + 2s);
    CHECK(batch.lost_content == Lines{"mode", "moved/renamed", "new", "over"});
    CHECK(queue.take(t0 + 4s).lost_content.empty());
}

TEST_CASE("a directory new since the last batch is marked as such", "[engine][batcher]") {
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "new", true), t0);
    queue.add_event(event(EventKind::modified, "new/file"), t0);
    queue.add_event(event(EventKind::rescan, "old", true), t0);
    auto batch = queue.take(t0 + 2s);
    CHECK(changes_of(batch) == Lines{"Attrib .", "Full new", "Full old"});
    CHECK(batch.changes[1].new_directory);
    CHECK_FALSE(batch.changes[2].new_directory);
}

TEST_CASE("a new file moved over a name and removed there still deletes that name",
          "[engine][batcher]") {
    auto queue = make_queue();
    // The target may hold an older "final" that the move replaced on the source.
    queue.add_event(event(EventKind::created, "tmp"), t0);
    queue.add_event(moved("tmp", "final"), t0);
    queue.add_event(event(EventKind::removed, "final"), t0);
    auto batch = queue.take(t0 + 2s);
    CHECK(batch.moves.empty());
    CHECK(changes_of(batch) == Lines{"Attrib .", "Delete final", "Delete tmp"});
}

TEST_CASE("a new directory that took in changes below it still compares them after a rename "
          "into it",
          "[engine][batcher]") {
    // SSH seed of the 2026-11-22 soak: a comparison copied new/sub/f before new's creation was
    // read; f was rewritten (same size, old mtime), which new's comparison took in; then a
    // rename into new made it "not new" and its comparison trusted f's size and mtime.
    auto queue = make_queue();
    queue.add_event(event(EventKind::created, "new", true), t0);
    queue.add_event(event(EventKind::modified, "new/sub/f"), t0);
    queue.add_event(event(EventKind::attrib, "new/sub/f"), t0);
    queue.add_event(moved("old", "new/sub/old", true), t0);
    auto batch = queue.take(t0 + 2s);
    REQUIRE(batch.moves.size() == 1);
    REQUIRE(changes_of(batch) == Lines{"Attrib .", "Full new", "Attrib new/sub"});
    CHECK(batch.changes[1].new_directory);

    // The same for a new directory moved elsewhere, and for one below a new directory.
    queue.add_event(event(EventKind::created, "n2", true), t0);
    queue.add_event(event(EventKind::modified, "n2/f"), t0);
    queue.add_event(moved("n2", "m2", true), t0);
    queue.add_event(event(EventKind::created, "n3", true), t0);
    queue.add_event(moved("n3/inner", "m3", true), t0);
    auto second = queue.take(t0 + 2s);
    CHECK(second.moves.empty());
    REQUIRE(changes_of(second) == Lines{"Attrib .", "Full m2", "Full m3", "Delete n2", "Full n3"});
    CHECK(second.changes[1].new_directory);
    CHECK(second.changes[2].new_directory);
}
