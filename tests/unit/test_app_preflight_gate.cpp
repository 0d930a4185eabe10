// PreflightGate over a real LocalTransport: the checks run once, before the first write, and
// a refusal keeps every write (and check_root) failing without touching the target.

#include "app/preflight_gate.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "transport/local_transport.hpp"

#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::test_support;

namespace {

struct Fixture {
    TempDir dir{"fsmirror-unit"};
    fs::path target = dir / "target";
    int runs = 0;

    Fixture() { fs::create_directories(target); }

    // A gate whose checks answer each run with the next of `verdicts` (the last repeats).
    std::unique_ptr<app::PreflightGate> open(std::vector<base::ErrorKind> verdicts,
                                             bool pass_last) {
        transport::LocalTransportOptions options;
        options.root = target;
        auto real = transport::LocalTransport::open(options);
        REQUIRE(real);
        return std::make_unique<app::PreflightGate>(
            std::move(*real), [this, verdicts, pass_last](transport::Transport&) -> base::Status {
                const auto index = static_cast<std::size_t>(runs++);
                if (index >= verdicts.size() && pass_last)
                    return {};
                const auto kind = verdicts[std::min(index, verdicts.size() - 1)];
                return base::fail(kind, "pre-flight check failed: non-empty-target");
            });
    }
};

transport::EntryInfo directory_info() {
    transport::EntryInfo info;
    info.type = transport::EntryType::directory;
    info.mode = 0755;
    return info;
}

} // namespace

TEST_CASE("a refusing pre-flight gate writes nothing and runs its checks once",
          "[app][preflight-gate]") {
    Fixture fixture;
    auto gate = fixture.open({base::ErrorKind::refused}, false);
    auto made = gate->make_directory("dir", directory_info());
    REQUIRE_FALSE(made);
    CHECK(made.error().kind == base::ErrorKind::refused);
    CHECK_FALSE(gate->remove("anything"));
    auto root = gate->check_root();
    REQUIRE_FALSE(root);
    CHECK(root.error().kind == base::ErrorKind::refused);
    CHECK(fixture.runs == 1);
    CHECK(fs::is_empty(fixture.target));
    // Reads still pass: they change nothing.
    CHECK(gate->list_directory(""));
}

TEST_CASE("an unreachable target keeps the checks pending and a passing check lets writes "
          "through",
          "[app][preflight-gate]") {
    Fixture fixture;
    auto gate = fixture.open({base::ErrorKind::transient}, true);
    auto first = gate->make_directory("dir", directory_info());
    REQUIRE_FALSE(first);
    CHECK(first.error().kind == base::ErrorKind::transient);
    CHECK_FALSE(fs::exists(fixture.target / "dir"));
    REQUIRE(gate->make_directory("dir", directory_info()));
    CHECK(fs::is_directory(fixture.target / "dir"));
    REQUIRE(gate->check_root());
    CHECK(fixture.runs == 2);
}
