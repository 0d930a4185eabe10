// The harness's own oracle: compare_trees must see every kind of difference the engine tests
// rely on it to see, or those tests could pass vacuously. No daemon involved.

#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tree_compare.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror::test_support;

namespace {

// Two identical trees with a file, a symlink and a directory, every mtime pinned.
struct TwoTrees {
    TempDir dir{"fsmirror-compare"};
    fs::path source = dir / "source";
    fs::path target = dir / "target";

    TwoTrees() {
        for (const fs::path& root : {source, target}) {
            fs::create_directories(root / "sub");
            write_file(root / "sub/file", "same size");
            make_symlink("sub/file", root / "link");
            set_mtime(root / "sub/file", make_time(1'000'000'000, 5));
            set_mtime(root / "link", make_time(1'000'000'000, 6));
            set_mtime(root / "sub", make_time(1'000'000'000, 7));
            set_mtime(root, make_time(1'000'000'000, 8));
        }
    }

    // Rewrites `relative` in the target and restores the mtimes the write disturbed.
    void rewrite_target(const std::string& relative, const std::string& content) {
        const fs::path path = target / relative;
        const auto mtime = get_mtime(path);
        const auto parent_mtime = get_mtime(path.parent_path());
        write_file(path, content);
        set_mtime(path, mtime);
        set_mtime(path.parent_path(), parent_mtime);
    }

    std::vector<std::string> differences(const CompareOptions& options = {}) const {
        return compare_trees(source, target, options);
    }
};

bool mentions(const std::vector<std::string>& lines, const std::string& text) {
    for (const std::string& line : lines)
        if (line.find(text) != std::string::npos)
            return true;
    return false;
}

} // namespace

TEST_CASE("compare_trees finds identical trees identical", "[integration][support]") {
    TwoTrees trees;
    CHECK(trees.differences().empty());
}

TEST_CASE("compare_trees sees same-size content changes with equal mtimes",
          "[integration][support]") {
    TwoTrees trees;
    trees.rewrite_target("sub/file", "SAME SIZE");
    const auto lines = trees.differences();
    REQUIRE(lines.size() == 1);
    CHECK(mentions(lines, "content differs: sub/file (first at byte 0)"));
}

TEST_CASE("compare_trees sees nanosecond mtime and mode and size differences",
          "[integration][support]") {
    TwoTrees trees;
    set_mtime(trees.target / "sub/file", make_time(1'000'000'000, 4));
    CHECK(mentions(trees.differences(), "mtime differs: sub/file"));

    set_mtime(trees.target / "sub/file", make_time(1'000'000'000, 5));
    set_mode(trees.target / "sub/file", 04644);
    CHECK(mentions(trees.differences(), "mode differs: sub/file"));

    set_mode(trees.target / "sub/file", mode_of(trees.source / "sub/file"));
    trees.rewrite_target("sub/file", "longer content");
    CHECK(mentions(trees.differences(), "size differs: sub/file"));
}

TEST_CASE("compare_trees sees symlink and directory and type differences",
          "[integration][support]") {
    TwoTrees trees;
    set_mtime(trees.target / "link", make_time(1'000'000'001, 6));
    CHECK(mentions(trees.differences(), "mtime differs: link"));
    CompareOptions no_symlink_mtimes;
    no_symlink_mtimes.symlink_mtimes = false;
    CHECK(trees.differences(no_symlink_mtimes).empty());

    set_mtime(trees.target / "sub", make_time(2, 0));
    CHECK(mentions(trees.differences(no_symlink_mtimes), "mtime differs: sub"));
    CompareOptions no_times = no_symlink_mtimes;
    no_times.directory_mtimes = false;
    CHECK(trees.differences(no_times).empty());

    fs::remove(trees.target / "link");
    make_symlink("elsewhere", trees.target / "link");
    CHECK(mentions(trees.differences(no_times), "symlink target differs: link"));

    fs::remove(trees.target / "link");
    write_file(trees.target / "link", "now a file");
    CHECK(mentions(trees.differences(no_times), "type differs: link (symlink vs file)"));
}

TEST_CASE("compare_trees reports missing and extra entries but not the marker",
          "[integration][support]") {
    TwoTrees trees;
    CompareOptions no_times;
    no_times.directory_mtimes = false;
    write_file(trees.target / ".fsmirror", "marker");
    fs::create_directory(trees.target / "sub/.fsmirror"); // only the root's is the marker
    write_file(trees.source / "only_in_source", "x");
    const auto lines = trees.differences(no_times);
    CHECK(mentions(lines, "missing in target: only_in_source"));
    CHECK(mentions(lines, "extra in target: sub/.fsmirror"));
    CHECK(std::find(lines.begin(), lines.end(), "extra in target: .fsmirror") == lines.end());
    CHECK(lines.size() == 2);

    no_times.ignored = {"only_in_source", "sub/.fsmirror"};
    CHECK(trees.differences(no_times).empty());
}

TEST_CASE("find_temp_files finds only names of the daemon temp form", "[integration][support]") {
    TempDir dir("fsmirror-temps");
    fs::create_directories(dir / "a/b");
    write_file(dir / "a/b/.fsmirror-0123abcd.tmp", "");
    write_file(dir / ".fsmirror-ff.tmp", "");
    write_file(dir / "a/.fsmirror-.tmp", "");   // nothing between prefix and suffix
    write_file(dir / "a/fsmirror-1.tmp", "");   // no leading dot
    write_file(dir / "a/.fsmirror-1.tmp~", ""); // wrong suffix
    const std::vector<fs::path> found = find_temp_files(dir.path());
    REQUIRE(found.size() == 2);
    CHECK(found[0] == dir / ".fsmirror-ff.tmp");
    CHECK(found[1] == dir / "a/b/.fsmirror-0123abcd.tmp");
}
