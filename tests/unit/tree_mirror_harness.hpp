#pragma once
// A TreeMirror between two real temp directories, through a transport that records the order
// of calls and injects the faults a test asks for: the fixture of the TreeMirror and
// StartupScan unit tests.

#include "engine/tree_mirror.hpp"
#include "tests/fakes/recording_transport.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tree_compare.hpp"
#include "transport/local_transport.hpp"

#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

namespace fsmirror::test_support {

struct TreeMirrorHarness {
    TempDir dir{"fsmirror-unit"};
    std::filesystem::path source = dir / "source";
    std::filesystem::path target = dir / "target";
    base::Logger logger{base::LogLevel::error};
    engine::ExcludeFilter excludes;
    std::unique_ptr<engine::SourceTree> tree;
    fakes::RecordingTransport* recorder = nullptr;
    std::unique_ptr<transport::Transport> transport;
    engine::WorkerPool pool{2};
    std::unique_ptr<engine::TreeMirror> mirror;

    TreeMirrorHarness() {
        std::filesystem::create_directories(source);
        std::filesystem::create_directories(target);
    }

    void open(engine::DeletePolicy deletes = {}) {
        open_source_and_target();
        make_mirror(deletes);
    }

    // The two halves of open(), for a fixture that builds more between them.
    void open_source_and_target() {
        tree = std::make_unique<engine::SourceTree>(source);
        REQUIRE(tree->open());
        transport::LocalTransportOptions options;
        options.root = target;
        options.attributes = {true, true, false};
        auto local = transport::LocalTransport::open(options);
        REQUIRE(local);
        auto recording = std::make_unique<fakes::RecordingTransport>(std::move(*local));
        recorder = recording.get();
        transport = std::move(recording);
    }
    void make_mirror(engine::DeletePolicy deletes = {},
                     engine::DatabaseMirror* databases = nullptr) {
        mirror = std::make_unique<engine::TreeMirror>(
            *tree, *transport, pool, excludes, logger,
            engine::TreeMirrorOptions{deletes, {true, true, false}}, databases);
    }

    engine::BatchOutcome run(engine::Batch batch, engine::Phase phase = engine::Phase::running) {
        return mirror->run_batch(batch, phase);
    }

    // A whole-tree comparison: the initial sync, or the rescan a batch asks for.
    engine::BatchOutcome compare_whole_tree(engine::Phase phase) {
        engine::Batch batch;
        batch.changes.push_back(engine::Change{"", engine::ChangeKind::tree, 0});
        return run(batch, phase);
    }
    engine::BatchOutcome initial() { return compare_whole_tree(engine::Phase::startup); }
    engine::BatchOutcome rescan() { return compare_whole_tree(engine::Phase::running); }

    // Runs a batch of `changes` that must succeed and ask for a rescan, then the rescan.
    void run_asking_for_rescan(std::vector<engine::Change> changes) {
        engine::Batch batch;
        batch.changes = std::move(changes);
        auto outcome = run(batch);
        REQUIRE(outcome.failed.empty());
        REQUIRE(outcome.rescan_needed);
        REQUIRE(rescan().failed.empty());
    }

    std::vector<std::string> differences() {
        return test_support::compare_trees(source, target, {});
    }
};

} // namespace fsmirror::test_support
