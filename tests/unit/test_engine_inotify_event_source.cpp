// InotifyEventSource on real temp directories. The operations run before the events are read,
// so every event is translated after later renames already changed the tree: the path an event
// names may lead elsewhere or nowhere. This is the race a busy source produces, made
// deterministic by reading late.

#include "engine/event_source.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::engine;
using fsmirror::test_support::TempDir;

namespace {

struct Watched {
    TempDir dir{"fsmirror-unit"};
    fs::path root = dir / "source";
    base::Logger logger{base::LogLevel::error};
    std::unique_ptr<EventSource> events;

    Watched() { fs::create_directories(root); }

    void start() {
        events = make_event_source(EventSourceKind::inotify,
                                   EventSourceOptions{root, nullptr, &logger, std::nullopt});
        REQUIRE(events->start());
    }

    // Returns every event the kernel has queued so far, translated.
    std::vector<FsEvent> drain() {
        std::vector<FsEvent> all;
        for (;;) {
            auto got = events->poll(std::chrono::milliseconds(0));
            REQUIRE(got);
            if (got->empty())
                return all;
            all.insert(all.end(), got->begin(), got->end());
        }
    }

    std::vector<std::string> watched() const { return events->watched_directories(); }
};

bool has_event(const std::vector<FsEvent>& events, EventKind kind, const std::string& path) {
    return std::any_of(events.begin(), events.end(),
                       [&](const FsEvent& e) { return e.kind == kind && e.path == path; });
}

bool contains(const std::vector<std::string>& paths, const std::string& path) {
    return std::find(paths.begin(), paths.end(), path) != paths.end();
}

} // namespace

TEST_CASE("a directory made in a parent renamed before the event is read is still watched",
          "[engine][inotify]") {
    Watched w;
    fs::create_directory(w.root / "a");
    w.start();

    fs::create_directory(w.root / "a/b");
    fs::rename(w.root / "a", w.root / "z");
    auto events = w.drain();

    CHECK(contains(w.watched(), "z/b"));
    CHECK(has_event(events, EventKind::rescan, "z/b"));
    test_support::write_file(w.root / "z/b/file", "seen\n");
    CHECK(has_event(w.drain(), EventKind::created, "z/b/file"));
}

TEST_CASE("a directory made at a name that an ancestor's rename frees again is told apart",
          "[engine][inotify]") {
    Watched w;
    fs::create_directory(w.root / "a");
    w.start();

    // The event for a/b is read when a/b is a different directory, in a different a.
    fs::create_directory(w.root / "a/b");
    fs::rename(w.root / "a", w.root / "z");
    fs::create_directories(w.root / "a/b");
    w.drain();

    CHECK(contains(w.watched(), "z/b"));
    CHECK(contains(w.watched(), "a/b"));
    test_support::write_file(w.root / "z/b/old", "in the renamed one\n");
    test_support::write_file(w.root / "a/b/new", "in the new one\n");
    auto events = w.drain();
    CHECK(has_event(events, EventKind::created, "z/b/old"));
    CHECK(has_event(events, EventKind::created, "a/b/new"));
}

TEST_CASE("a directory moved into a parent that is renamed before the event is read keeps its "
          "watch",
          "[engine][inotify]") {
    Watched w;
    fs::create_directories(w.root / "dir/sub");
    fs::create_directories(w.root / "parent");
    w.start();

    // When the move is read, "parent/moved" leads nowhere: parent is "renamed" by then.
    fs::rename(w.root / "dir", w.root / "parent/moved");
    fs::rename(w.root / "parent", w.root / "renamed");
    w.drain();

    CHECK(contains(w.watched(), "renamed/moved"));
    CHECK(contains(w.watched(), "renamed/moved/sub"));
    CHECK_FALSE(contains(w.watched(), "dir"));
    test_support::write_file(w.root / "renamed/moved/sub/file", "seen\n");
    CHECK(has_event(w.drain(), EventKind::created, "renamed/moved/sub/file"));
}

TEST_CASE("a directory made, renamed and made again under one name gets both watched",
          "[engine][inotify]") {
    Watched w;
    w.start();

    fs::create_directory(w.root / "a");
    fs::rename(w.root / "a", w.root / "b");
    fs::create_directory(w.root / "a");
    w.drain();

    CHECK(contains(w.watched(), "a"));
    CHECK(contains(w.watched(), "b"));
    test_support::write_file(w.root / "a/one", "1\n");
    test_support::write_file(w.root / "b/two", "2\n");
    auto events = w.drain();
    CHECK(has_event(events, EventKind::created, "a/one"));
    CHECK(has_event(events, EventKind::created, "b/two"));
}

TEST_CASE("a directory removed, made again and renamed before the events are read is watched",
          "[engine][inotify]") {
    Watched w;
    fs::create_directory(w.root / "a");
    w.start();

    // The removal's watch must not linger under the name the rename then moves away.
    fs::remove(w.root / "a");
    fs::create_directory(w.root / "a");
    fs::rename(w.root / "a", w.root / "b");
    w.drain();

    CHECK(contains(w.watched(), "b"));
    CHECK_FALSE(contains(w.watched(), "a"));
    test_support::write_file(w.root / "b/file", "seen\n");
    CHECK(has_event(w.drain(), EventKind::created, "b/file"));
}
