// What a SyncSession reports to its monitor, driven one step at a time on real directories.

#include "app/session_factory.hpp"
#include "monitor/status_board.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

using namespace fsmirror;
using namespace std::chrono_literals;

namespace {

monitor::SyncStatus only(const std::vector<monitor::SyncStatus>& syncs) {
    REQUIRE(syncs.size() == 1);
    return syncs.front();
}

} // namespace

TEST_CASE("a session publishes its state, queue, watches and outcome",
          "[engine][monitor][concurrent]") {
    test_support::TempDir dir;
    std::filesystem::create_directories(dir / "source/sub");
    std::filesystem::create_directories(dir / "target");
    test_support::write_file(dir / "source/sub/old.txt", "old\n");
    config::SyncConfig sync;
    sync.name = "storage";
    sync.source = dir / "source";
    sync.target = (dir / "target").string();
    sync.delay_seconds = 3;
    base::Logger logger(base::LogLevel::error);
    monitor::StatusBoard board;
    app::SessionSettings settings;
    settings.reporter = &board;
    auto session = app::make_session(sync, settings, logger);
    REQUIRE(session->start());
    {
        const auto status = only(board.snapshot());
        CHECK(status.name == "storage");
        CHECK(status.state == monitor::SyncState::starting);
        CHECK_FALSE(status.initial_sync_done);
        CHECK(status.watch_count == 2);
    }

    CHECK(session->initial_sync() == 0);
    {
        const auto status = only(board.snapshot());
        CHECK(status.state == monitor::SyncState::watching);
        CHECK(status.initial_sync_done);
        CHECK(status.counters.files_written == 1);
        CHECK(status.last_success_time.has_value());
        CHECK(status.backlog == 0);
    }
    CHECK(board.wait_for_change(std::chrono::steady_clock::now(), {})); // initial sync done

    test_support::write_file(dir / "source/new.txt", "new\n");
    std::filesystem::rename(dir / "source/sub/old.txt", dir / "source/sub/renamed.txt");
    // Gather the events without reaching the delay; routine reports come about once a second.
    const auto until = std::chrono::steady_clock::now() + 2500ms;
    while (std::chrono::steady_clock::now() < until && only(board.snapshot()).backlog < 2)
        session->step(50ms);
    {
        const auto status = only(board.snapshot());
        REQUIRE(status.backlog >= 2);
        REQUIRE(status.oldest_pending.has_value());
        bool saw_create = false;
        bool saw_move = false;
        for (const auto& item : status.items) {
            CHECK(item.status == monitor::ItemStatus::wait);
            saw_create |= item.type == "Create" && item.path == "new.txt";
            saw_move |= item.type == "Move" && item.path == "sub/old.txt" &&
                        item.to_path == "sub/renamed.txt";
        }
        CHECK(saw_create);
        CHECK(saw_move);
        REQUIRE(status.watched_directories);
        CHECK(*status.watched_directories == std::vector<std::string>{"", "sub"});
    }

    // Past the delay the batch runs, and the next report shows an empty queue.
    const auto settle = std::chrono::steady_clock::now() + 8s;
    while (std::chrono::steady_clock::now() < settle && only(board.snapshot()).backlog > 0)
        session->step(100ms);
    const auto status = only(board.snapshot());
    CHECK(status.backlog == 0);
    CHECK(status.counters.renames == 1);
    CHECK(status.last_error.empty());
    CHECK(test_support::file_has_content(dir / "target/new.txt", "new\n"));
}
