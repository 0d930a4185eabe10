// compare_trees on real directories: every kind of difference that can be planted, and none
// where there is none.

#include "engine/tree_compare.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "transport/local_transport.hpp"

#include <filesystem>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::engine;
using namespace fsmirror::test_support;
using fsmirror::transport::LocalTransport;
using fsmirror::transport::LocalTransportOptions;

namespace {

struct Trees {
    TempDir dir{"fsmirror-unit"};
    fs::path source = dir / "source";
    fs::path target = dir / "target";

    Trees() {
        for (const fs::path& root : {source, target}) {
            fs::create_directories(root / "sub/deeper");
            write_file(root / "a.txt", "alpha\n");
            write_file(root / "sub/b.bin", make_content(100'000, 7));
            write_file(root / "sub/deeper/c", "c\n");
            make_symlink("a.txt", root / "link");
            write_file(root / "skip.tmp", root == source ? "source" : "target!");
        }
        align_times();
    }

    void align_times() {
        for (const char* path :
             {"a.txt", "sub/b.bin", "sub/deeper/c", "link", "skip.tmp", "sub/deeper", "sub", ""}) {
            for (const fs::path& root : {source, target})
                if (exists_no_follow(root / path))
                    set_mtime(root / path, make_time(1'600'000'000, 123));
        }
    }

    std::vector<std::string> compare(Contents contents = Contents::metadata) {
        SourceTree tree(source);
        REQUIRE(tree.open());
        LocalTransportOptions options;
        options.root = target;
        auto transport = LocalTransport::open(options);
        REQUIRE(transport);
        ExcludeFilter excludes;
        excludes.add_pattern("*.tmp");
        TreeCompareOptions compare_options;
        compare_options.contents = contents;
        compare_options.workers = 3;
        auto result = compare_trees(tree, **transport, excludes, compare_options);
        REQUIRE(result);
        std::vector<std::string> lines;
        for (const auto& difference : result->differences)
            lines.push_back(format_difference(difference));
        return lines;
    }
};

} // namespace

TEST_CASE("identical trees have no differences, with or without checksums", "[engine][verify]") {
    Trees trees;
    write_file(trees.target / ".fsmirror", "source=/x\n");
    set_mtime(trees.target, make_time(1'600'000'000, 123));
    CHECK(trees.compare().empty());
    CHECK(trees.compare(Contents::checksum).empty());
}

TEST_CASE("missing and extra entries are one line each, directories included", "[engine][verify]") {
    Trees trees;
    fs::remove(trees.target / "a.txt");
    fs::remove_all(trees.target / "sub/deeper");
    fs::create_directories(trees.target / "extra/inside");
    write_file(trees.target / "stray", "x");
    trees.align_times();
    auto lines = trees.compare();
    CHECK(lines == std::vector<std::string>{
                       "missing /a.txt (file, 6 bytes)", "extra /extra (directory)",
                       "extra /stray (file, 1 bytes)", "missing /sub/deeper (directory)"});
}

TEST_CASE("type, size, mode, mtime and symlink differences are found", "[engine][verify]") {
    Trees trees;
    fs::remove(trees.target / "sub/deeper/c");
    fs::create_directory(trees.target / "sub/deeper/c");
    write_file(trees.target / "a.txt", "alpha, longer\n");
    set_mode(trees.target / "sub", 0700);
    fs::remove(trees.target / "link");
    make_symlink("sub", trees.target / "link");
    trees.align_times();
    set_mtime(trees.target / "sub/b.bin", make_time(1'600'000'000, 124));
    auto lines = trees.compare();
    CHECK(lines == std::vector<std::string>{
                       "size /a.txt: 6 on the source, 14 on the target",
                       "symlink /link: 'a.txt' on the source, 'sub' on the target",
                       "mode /sub: 0755 on the source, 0700 on the target",
                       "mtime /sub/b.bin: 1600000000.000000123 on the source, "
                       "1600000000.000000124 on the target",
                       "type /sub/deeper/c: file on the source, directory on the target"});
}

TEST_CASE("same size and mtime but different content needs --checksum", "[engine][verify]") {
    Trees trees;
    auto changed = make_content(100'000, 7);
    changed[50'000] ^= 1;
    overwrite_file(trees.target / "sub/b.bin", changed);
    trees.align_times();
    CHECK(trees.compare().empty());
    auto lines = trees.compare(Contents::checksum);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].starts_with("content /sub/b.bin: xxh3:"));
}

TEST_CASE("excluded paths and the marker are skipped on both sides", "[engine][verify]") {
    Trees trees;
    write_file(trees.target / "new.tmp", "only on the target, excluded");
    write_file(trees.target / ".fsmirror", "source=/x\n");
    write_file(trees.source / ".fsmirror", "a source that was a mirror once\n");
    trees.align_times();
    CHECK(trees.compare(Contents::checksum).empty());
}

TEST_CASE("the root's own attributes are compared", "[engine][verify]") {
    Trees trees;
    set_mode(trees.target, 0700);
    auto lines = trees.compare();
    CHECK(lines == std::vector<std::string>{"mode /: 0755 on the source, 0700 on the target"});
}
