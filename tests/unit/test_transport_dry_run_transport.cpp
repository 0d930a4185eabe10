// The dry-run decorator over a real LocalTransport: it plans and changes nothing.

#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tree_compare.hpp"
#include "transport/dry_run_transport.hpp"
#include "transport/local_transport.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace fsmirror::transport;
using namespace fsmirror::test_support;

namespace {

struct Fixture {
    TempDir dir{"fsmirror-unit"};
    fs::path target = dir / "target";
    fs::path snapshot = dir / "snapshot";
    std::vector<std::string> lines;

    Fixture() {
        fs::create_directories(target / "dir");
        write_file(target / "dir/old.txt", "old content\n");
        write_file(target / "gone.txt", "to be deleted\n");
        write_file(target / ".fsmirror-0123456789abcdef.tmp", "a running daemon's temp file");
        set_mtime(target / "dir/old.txt", make_time(1'000'000, 5));
        fs::copy(target, snapshot, fs::copy_options::recursive);
        set_mtime(snapshot / "dir/old.txt", make_time(1'000'000, 5));
        set_mtime(snapshot / "dir", get_mtime(target / "dir"));
        set_mtime(snapshot, get_mtime(target));
        set_mtime(snapshot / "gone.txt", get_mtime(target / "gone.txt"));
        set_mtime(snapshot / ".fsmirror-0123456789abcdef.tmp",
                  get_mtime(target / ".fsmirror-0123456789abcdef.tmp"));
    }

    std::unique_ptr<DryRunTransport> open() {
        LocalTransportOptions options;
        options.root = target;
        options.stale_temps = StaleTemps::keep;
        auto real = LocalTransport::open(options);
        REQUIRE(real);
        return std::make_unique<DryRunTransport>(
            std::move(*real), "local:" + target.string(), AttributePolicy{},
            [this](const std::string& line) { lines.push_back(line); });
    }

    bool said(const std::string& needle) const {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) {
            return l.find(needle) != std::string::npos;
        });
    }
};

} // namespace

TEST_CASE("a dry run describes every write and leaves the target as it was",
          "[transport][dry-run]") {
    Fixture f;
    auto dry = f.open();
    write_file(f.dir / "source.txt", "twelve bytes");
    int fd = ::open((f.dir / "source.txt").c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    EntryInfo file_info;
    file_info.type = EntryType::file;
    file_info.size = 12;
    file_info.mode = 0640;
    file_info.mtime_ns = 2'000'000'000'000'000'000;
    EntryInfo dir_info;
    dir_info.type = EntryType::directory;
    dir_info.mode = 0750;

    CHECK(dry->make_directory("new", dir_info));
    auto listed = dry->list_directory("new"); // a planned directory reads as empty
    REQUIRE(listed);
    CHECK(listed->empty());
    CHECK(dry->put_file("new/file.txt", SourceFile{fd, file_info}, std::nullopt));
    auto existing = dry->stat("dir/old.txt");
    REQUIRE(existing);
    CHECK(dry->put_file("dir/old.txt", SourceFile{fd, file_info}, *existing));
    EntryInfo link;
    link.type = EntryType::symlink;
    link.link_target = "dir/old.txt";
    CHECK(dry->put_symlink("link", link));
    CHECK(dry->rename("dir/old.txt", "dir/renamed.txt"));
    CHECK(dry->rename("absent", "x").error().kind == fsmirror::base::ErrorKind::not_found);
    CHECK(dry->remove("gone.txt"));
    CHECK(dry->set_attributes("dir", dir_info));
    CHECK(dry->flush());
    ::close(fd);

    CHECK(f.said("mkdir /new (mode 0750)"));
    CHECK(f.said("copy /new/file.txt (12 bytes)"));
    CHECK(f.said("delta /dir/old.txt (12 bytes"));
    CHECK(f.said("symlink /link -> dir/old.txt"));
    CHECK(f.said("rename /dir/old.txt -> /dir/renamed.txt"));
    CHECK(f.said("delete /gone.txt (file)"));
    CHECK(f.said("chmod /dir (mode 0755 -> 0750"));

    // Byte- and mtime-identical, the daemon's temp file included.
    const auto differences = compare_trees(f.snapshot, f.target);
    INFO(differences.size());
    CHECK(differences.empty());
    CHECK(exists_no_follow(f.target / ".fsmirror-0123456789abcdef.tmp"));
}

TEST_CASE("a dry run into a target that does not exist reads it as empty", "[transport][dry-run]") {
    std::vector<std::string> lines;
    DryRunTransport dry(nullptr, "local:/nowhere", AttributePolicy{},
                        [&](const std::string& line) { lines.push_back(line); });
    auto root = dry.stat("");
    REQUIRE(root);
    CHECK_FALSE(*root);
    EntryInfo dir_info;
    dir_info.type = EntryType::directory;
    CHECK(dry.make_directory("", dir_info));
    auto listed = dry.list_directory("");
    REQUIRE(listed);
    CHECK(listed->empty());
    CHECK(dry.check_root());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0] == "mkdir local:/nowhere (the target root)");
}
