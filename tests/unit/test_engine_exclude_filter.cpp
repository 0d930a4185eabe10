#include "engine/exclude_filter.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <unistd.h>

using fsmirror::engine::EntryKind;
using fsmirror::engine::ExcludeFilter;

namespace {

constexpr EntryKind k_file = EntryKind::file;
constexpr EntryKind k_dir = EntryKind::directory;

ExcludeFilter make_filter(std::initializer_list<std::string_view> patterns) {
    ExcludeFilter filter;
    for (std::string_view pattern : patterns) {
        filter.add_pattern(pattern);
    }
    return filter;
}

// A fresh directory under the system temp dir, removed with everything in it on destruction.
// (Local until tests/support/ grows a shared one.)
class TempDir {
public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "fsmirror-test-XXXXXX");
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        m_path = tmpl;
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(m_path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return m_path; }

    // Writes `content` verbatim (binary, so "\r\n" stays) and returns the file's path.
    std::filesystem::path write(const std::string& name, std::string_view content) const {
        const std::filesystem::path file_path = m_path / name;
        std::ofstream out(file_path, std::ios::binary);
        out << content;
        out.close();
        if (!out) {
            throw std::runtime_error("cannot write " + file_path.string());
        }
        return file_path;
    }

private:
    std::filesystem::path m_path;
};

// --- A deliberately naive reference implementation of the documented rules, used to
// --- cross-check the real matcher on random patterns and paths.

// True when `glob` (with '*', '**', '?', "[ab]", "[!a]" and literals) matches all of `text`.
bool reference_glob(std::string_view glob, std::string_view text) {
    if (glob.empty()) {
        return text.empty();
    }
    if (glob.front() == '*') {
        std::size_t run = 0;
        while (run < glob.size() && glob[run] == '*') {
            ++run;
        }
        const std::string_view rest = glob.substr(run);
        for (std::size_t take = 0; take <= text.size(); ++take) {
            if (reference_glob(rest, text.substr(take))) {
                return true;
            }
            if (take < text.size() && run == 1 && text[take] == '/') {
                return false;
            }
        }
        return false;
    }
    if (text.empty()) {
        return false;
    }
    if (glob.front() == '?') {
        return text.front() != '/' && reference_glob(glob.substr(1), text.substr(1));
    }
    if (glob.front() == '[') {
        const std::size_t close = glob.find(']');
        std::string_view members = glob.substr(1, close - 1);
        const bool negated = !members.empty() && members.front() == '!';
        if (negated) {
            members.remove_prefix(1);
        }
        const bool in = members.find(text.front()) != std::string_view::npos;
        return text.front() != '/' && in != negated &&
               reference_glob(glob.substr(close + 1), text.substr(1));
    }
    return glob.front() == text.front() && reference_glob(glob.substr(1), text.substr(1));
}

bool reference_candidate(std::string_view glob, bool anchored, bool has_slash,
                         std::string_view path) {
    // A leading run of two or more stars followed by '/' may also match no directory at all.
    const std::size_t stars = std::min(glob.find_first_not_of('*'), glob.size());
    const bool leading_any_dirs = stars >= 2 && stars < glob.size() && glob[stars] == '/';
    const auto whole = [&](std::string_view text) {
        return reference_glob(glob, text) ||
               (leading_any_dirs && reference_glob(glob.substr(stars + 1), text));
    };
    if (anchored) {
        return whole(path);
    }
    if (!has_slash) {
        const std::size_t slash = path.rfind('/');
        return whole(slash == std::string_view::npos ? path : path.substr(slash + 1));
    }
    if (whole(path)) {
        return true;
    }
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '/' && whole(path.substr(i + 1))) {
            return true;
        }
    }
    return false;
}

bool reference_excluded(std::string_view pattern, std::string_view path, EntryKind kind) {
    std::string_view glob = pattern;
    const bool anchored = glob.starts_with('/');
    if (anchored) {
        glob.remove_prefix(1);
    }
    const bool directory_only = glob.ends_with('/');
    if (directory_only) {
        glob.remove_suffix(1);
    }
    const bool has_slash = glob.find('/') != std::string_view::npos;
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '/' && reference_candidate(glob, anchored, has_slash, path.substr(0, i))) {
            return true;
        }
    }
    return (!directory_only || kind == k_dir) &&
           reference_candidate(glob, anchored, has_slash, path);
}

} // namespace

TEST_CASE("an empty filter excludes nothing", "[engine][exclude_filter]") {
    const ExcludeFilter filter;
    CHECK(filter.empty());
    CHECK(filter.patterns().empty());
    CHECK_FALSE(filter.is_excluded("a", k_file));
    CHECK_FALSE(filter.is_excluded("a/b/c", k_dir));
}

TEST_CASE("patterns() returns the patterns as given, in order", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"*.tmp", "/cache/", "  spaced  ", "**/x"});
    CHECK_FALSE(filter.empty());
    CHECK(filter.patterns() == std::vector<std::string>{"*.tmp", "/cache/", "  spaced  ", "**/x"});
}

TEST_CASE("a pattern without a slash matches a name at any depth", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"*.tmp"});

    CHECK(filter.is_excluded("x.tmp", k_file));
    CHECK(filter.is_excluded("a/x.tmp", k_file));
    CHECK(filter.is_excluded("a/b/x.tmp", k_file));
    CHECK(filter.is_excluded(".tmp", k_file)); // '*' may be empty
    CHECK(filter.is_excluded("x.tmp", k_dir)); // no trailing '/': directories too

    CHECK_FALSE(filter.is_excluded("x.tmpl", k_file));
    CHECK_FALSE(filter.is_excluded("x.tmp.bak", k_file));
    CHECK_FALSE(filter.is_excluded("tmp", k_file));
    CHECK_FALSE(filter.is_excluded("a.tmpx/b", k_file));
    CHECK_FALSE(filter.is_excluded("x.TMP", k_file)); // case-sensitive
}

TEST_CASE("a literal name matches that component only", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"cache"});

    CHECK(filter.is_excluded("cache", k_file));
    CHECK(filter.is_excluded("cache", k_dir));
    CHECK(filter.is_excluded("a/cache", k_file));
    CHECK(filter.is_excluded("a/b/cache", k_dir));

    CHECK_FALSE(filter.is_excluded("cachex", k_file));
    CHECK_FALSE(filter.is_excluded("xcache", k_file));
    CHECK_FALSE(filter.is_excluded("a/cachex/b", k_file));
    CHECK_FALSE(filter.is_excluded("cach", k_file));
}

TEST_CASE("'*' matches dotfiles, as in rsync", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"*"});
    CHECK(filter.is_excluded(".hidden", k_file));
    CHECK(filter.is_excluded("a/.git", k_dir));
}

TEST_CASE("a trailing slash matches directories only", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"cache/"});

    CHECK(filter.is_excluded("cache", k_dir));
    CHECK(filter.is_excluded("a/cache", k_dir));
    CHECK(filter.is_excluded("a/b/cache", k_dir));

    CHECK_FALSE(filter.is_excluded("cache", k_file));
    CHECK_FALSE(filter.is_excluded("a/cache", k_file));
    CHECK_FALSE(filter.is_excluded("cachex", k_dir));
    CHECK_FALSE(filter.is_excluded("a/cachex/file", k_file));
}

TEST_CASE("several trailing slashes count as one", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"cache//"});
    CHECK(filter.is_excluded("a/cache", k_dir));
    CHECK_FALSE(filter.is_excluded("a/cache", k_file));
}

TEST_CASE("a leading slash anchors the pattern at the root", "[engine][exclude_filter]") {
    SECTION("directory only") {
        const ExcludeFilter filter = make_filter({"/cache/"});
        CHECK(filter.is_excluded("cache", k_dir));
        CHECK(filter.is_excluded("cache/a", k_file));
        CHECK(filter.is_excluded("cache/a/b", k_file));

        CHECK_FALSE(filter.is_excluded("cache", k_file));
        CHECK_FALSE(filter.is_excluded("x/cache", k_dir));
        CHECK_FALSE(filter.is_excluded("x/cache/a", k_file));
        CHECK_FALSE(filter.is_excluded("cachex", k_dir));
    }
    SECTION("files and directories") {
        const ExcludeFilter filter = make_filter({"/build"});
        CHECK(filter.is_excluded("build", k_file));
        CHECK(filter.is_excluded("build", k_dir));
        CHECK(filter.is_excluded("build/out.o", k_file));

        CHECK_FALSE(filter.is_excluded("src/build", k_file));
        CHECK_FALSE(filter.is_excluded("src/build", k_dir));
        CHECK_FALSE(filter.is_excluded("builds", k_file));
    }
    SECTION("with an inner slash") {
        const ExcludeFilter filter = make_filter({"/src/*.o"});
        CHECK(filter.is_excluded("src/a.o", k_file));
        CHECK(filter.is_excluded("src/.o", k_file));

        CHECK_FALSE(filter.is_excluded("x/src/a.o", k_file));
        CHECK_FALSE(filter.is_excluded("src/sub/a.o", k_file));
        CHECK_FALSE(filter.is_excluded("src/a.oo", k_file));
        CHECK_FALSE(filter.is_excluded("src", k_dir));
    }
    SECTION("with a wildcard name") {
        const ExcludeFilter filter = make_filter({"/*.log"});
        CHECK(filter.is_excluded("a.log", k_file));
        CHECK_FALSE(filter.is_excluded("dir/a.log", k_file));
    }
}

TEST_CASE("an unanchored pattern with a slash matches the path tail on component boundaries",
          "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"b/*.log"});

    CHECK(filter.is_excluded("b/x.log", k_file));
    CHECK(filter.is_excluded("a/b/x.log", k_file));
    CHECK(filter.is_excluded("z/a/b/x.log", k_file));
    CHECK(filter.is_excluded("b/x.log/inner", k_file)); // "b/x.log" is an excluded ancestor

    CHECK_FALSE(filter.is_excluded("ab/x.log", k_file));
    CHECK_FALSE(filter.is_excluded("a/ab/x.log", k_file));
    CHECK_FALSE(filter.is_excluded("b/c/x.log", k_file));
    CHECK_FALSE(filter.is_excluded("x.log", k_file));
    CHECK_FALSE(filter.is_excluded("b/x.txt", k_file));
    CHECK_FALSE(filter.is_excluded("b", k_dir));
}

TEST_CASE("an unanchored multi-component pattern with a trailing slash",
          "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"a/b/"});
    CHECK(filter.is_excluded("a/b", k_dir));
    CHECK(filter.is_excluded("x/a/b", k_dir));
    CHECK(filter.is_excluded("x/a/b/c.txt", k_file));

    CHECK_FALSE(filter.is_excluded("a/b", k_file));
    CHECK_FALSE(filter.is_excluded("xa/b", k_dir));
    CHECK_FALSE(filter.is_excluded("a/bx", k_dir));
}

TEST_CASE("an excluded directory hides everything below it", "[engine][exclude_filter]") {
    SECTION("by name") {
        const ExcludeFilter filter = make_filter({"cache"});
        CHECK(filter.is_excluded("cache/a/b", k_file));
        CHECK(filter.is_excluded("cache/a/b", k_dir));
        CHECK(filter.is_excluded("x/cache/y", k_file));
    }
    SECTION("by anchored directory pattern") {
        const ExcludeFilter filter = make_filter({"/cache/"});
        CHECK(filter.is_excluded("cache/a/b", k_file));
        CHECK_FALSE(filter.is_excluded("a/cache/b", k_file));
    }
    SECTION("by wildcard") {
        const ExcludeFilter filter = make_filter({"*.tmp"});
        CHECK(filter.is_excluded("a.tmp/b", k_file));
        CHECK(filter.is_excluded("x/a.tmp/b/c", k_dir));
    }
    SECTION("a file-shaped ancestor still counts as a directory") {
        // Ancestors are always directories, so "cache/" applies to "cache/a" even though the
        // caller asks about a file.
        const ExcludeFilter filter = make_filter({"cache/"});
        CHECK(filter.is_excluded("cache/a", k_file));
    }
}

TEST_CASE("'?' matches exactly one character other than '/'", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"?.c"});
    CHECK(filter.is_excluded("a.c", k_file));
    CHECK(filter.is_excluded("d/a.c", k_file));
    CHECK_FALSE(filter.is_excluded("ab.c", k_file));
    CHECK_FALSE(filter.is_excluded(".c", k_file));

    const ExcludeFilter anchored = make_filter({"/a?b"});
    CHECK(anchored.is_excluded("axb", k_file));
    CHECK_FALSE(anchored.is_excluded("a/b", k_file));
}

TEST_CASE("'*' does not cross slashes", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"/a*b"});
    CHECK(filter.is_excluded("ab", k_file));
    CHECK(filter.is_excluded("axyzb", k_file));
    CHECK_FALSE(filter.is_excluded("a/x/b", k_file));
    CHECK_FALSE(filter.is_excluded("a/b", k_file));

    const ExcludeFilter middle = make_filter({"/a/*/c"});
    CHECK(middle.is_excluded("a/x/c", k_file));
    CHECK(middle.is_excluded("a/x/c/d", k_file)); // ancestor "a/x/c"
    CHECK_FALSE(middle.is_excluded("a/x/y/c", k_file));
    CHECK_FALSE(middle.is_excluded("a/c", k_file));
}

TEST_CASE("'**' crosses slashes", "[engine][exclude_filter]") {
    SECTION("in the middle") {
        const ExcludeFilter filter = make_filter({"/a/**/c"});
        CHECK(filter.is_excluded("a/x/c", k_file));
        CHECK(filter.is_excluded("a/x/y/z/c", k_file));
        // As in rsync, "/**/" in the middle needs at least one directory.
        CHECK_FALSE(filter.is_excluded("a/c", k_file));
        CHECK_FALSE(filter.is_excluded("a/x/y/cc", k_file));
        CHECK_FALSE(filter.is_excluded("b/x/c", k_file));
    }
    SECTION("at the end") {
        const ExcludeFilter filter = make_filter({"/a/**"});
        CHECK(filter.is_excluded("a/b", k_file));
        CHECK(filter.is_excluded("a/b/c/d", k_file));
        CHECK_FALSE(filter.is_excluded("a", k_dir));
        CHECK_FALSE(filter.is_excluded("ab/c", k_file));
    }
    SECTION("inside a name") {
        const ExcludeFilter filter = make_filter({"/a**z"});
        CHECK(filter.is_excluded("a/b/c/z", k_file));
        CHECK(filter.is_excluded("az", k_file));
        CHECK(filter.is_excluded("a/b/c/zz/y", k_file)); // ancestor "a/b/c/zz"
        CHECK_FALSE(filter.is_excluded("b/z", k_file));
    }
    SECTION("three stars behave like two") {
        const ExcludeFilter filter = make_filter({"/a/***"});
        CHECK(filter.is_excluded("a/b/c", k_file));
        CHECK_FALSE(filter.is_excluded("b/c", k_file));
    }
}

TEST_CASE("a leading '**/' also matches at the top level", "[engine][exclude_filter]") {
    SECTION("node_modules directories") {
        const ExcludeFilter filter = make_filter({"**/node_modules/"});
        CHECK(filter.is_excluded("node_modules", k_dir));
        CHECK(filter.is_excluded("a/node_modules", k_dir));
        CHECK(filter.is_excluded("a/b/node_modules", k_dir));
        CHECK(filter.is_excluded("a/node_modules/x/y.js", k_file));
        CHECK(filter.is_excluded("node_modules/y.js", k_file));

        CHECK_FALSE(filter.is_excluded("node_modules", k_file));
        CHECK_FALSE(filter.is_excluded("a/node_modules_x", k_dir));
        CHECK_FALSE(filter.is_excluded("a/xnode_modules", k_dir));
    }
    SECTION("unanchored file pattern") {
        const ExcludeFilter filter = make_filter({"**/x"});
        CHECK(filter.is_excluded("x", k_file));
        CHECK(filter.is_excluded("a/b/x", k_file));
        CHECK_FALSE(filter.is_excluded("a/bx", k_file));
    }
    SECTION("anchored") {
        const ExcludeFilter filter = make_filter({"/**/x"});
        CHECK(filter.is_excluded("x", k_file));
        CHECK(filter.is_excluded("a/x", k_file));
        CHECK_FALSE(filter.is_excluded("xx", k_file));
    }
    SECTION("with more components") {
        const ExcludeFilter filter = make_filter({"**/a/b"});
        CHECK(filter.is_excluded("a/b", k_file));
        CHECK(filter.is_excluded("x/y/a/b", k_file));
        CHECK_FALSE(filter.is_excluded("a/c", k_file));
    }
}

TEST_CASE("character classes", "[engine][exclude_filter]") {
    SECTION("a set") {
        const ExcludeFilter filter = make_filter({"[abc].txt"});
        CHECK(filter.is_excluded("a.txt", k_file));
        CHECK(filter.is_excluded("d/c.txt", k_file));
        CHECK_FALSE(filter.is_excluded("d.txt", k_file));
        CHECK_FALSE(filter.is_excluded("ab.txt", k_file));
        CHECK_FALSE(filter.is_excluded("A.txt", k_file));
    }
    SECTION("a range") {
        const ExcludeFilter filter = make_filter({"[a-c]x"});
        CHECK(filter.is_excluded("ax", k_file));
        CHECK(filter.is_excluded("bx", k_file));
        CHECK(filter.is_excluded("cx", k_file));
        CHECK_FALSE(filter.is_excluded("dx", k_file));
        CHECK_FALSE(filter.is_excluded("-x", k_file));
    }
    SECTION("several ranges") {
        const ExcludeFilter filter = make_filter({"[a-c0-9]"});
        CHECK(filter.is_excluded("5", k_file));
        CHECK(filter.is_excluded("b", k_file));
        CHECK_FALSE(filter.is_excluded("z", k_file));
    }
    SECTION("negated with '!'") {
        const ExcludeFilter filter = make_filter({"[!a-c]x"});
        CHECK(filter.is_excluded("dx", k_file));
        CHECK(filter.is_excluded("-x", k_file));
        CHECK_FALSE(filter.is_excluded("ax", k_file));
        CHECK_FALSE(filter.is_excluded("cx", k_file));
    }
    SECTION("negated with '^'") {
        const ExcludeFilter filter = make_filter({"[^a]"});
        CHECK(filter.is_excluded("b", k_file));
        CHECK_FALSE(filter.is_excluded("a", k_file));
    }
    SECTION("']' first is a member") {
        const ExcludeFilter filter = make_filter({"[]]"});
        CHECK(filter.is_excluded("]", k_file));
        CHECK_FALSE(filter.is_excluded("a", k_file));

        const ExcludeFilter negated = make_filter({"[!]]"});
        CHECK(negated.is_excluded("a", k_file));
        CHECK_FALSE(negated.is_excluded("]", k_file));
    }
    SECTION("'-' last is a member") {
        const ExcludeFilter filter = make_filter({"[a-]"});
        CHECK(filter.is_excluded("-", k_file));
        CHECK(filter.is_excluded("a", k_file));
        CHECK_FALSE(filter.is_excluded("b", k_file));
    }
    SECTION("an escaped member") {
        const ExcludeFilter filter = make_filter({"[\\]x]"});
        CHECK(filter.is_excluded("]", k_file));
        CHECK(filter.is_excluded("x", k_file));
        CHECK_FALSE(filter.is_excluded("\\", k_file));
    }
    SECTION("a reversed range is empty") {
        const ExcludeFilter filter = make_filter({"[z-a]"});
        CHECK_FALSE(filter.is_excluded("a", k_file));
        CHECK_FALSE(filter.is_excluded("m", k_file));
    }
    SECTION("a class never matches '/'") {
        const ExcludeFilter filter = make_filter({"/a[!x]b"});
        CHECK(filter.is_excluded("ayb", k_file));
        CHECK_FALSE(filter.is_excluded("a/b", k_file));
        CHECK_FALSE(filter.is_excluded("axb", k_file));
    }
}

TEST_CASE("a backslash escapes the next character", "[engine][exclude_filter]") {
    SECTION("star") {
        const ExcludeFilter filter = make_filter({"\\*.txt"});
        CHECK(filter.is_excluded("*.txt", k_file));
        CHECK_FALSE(filter.is_excluded("a.txt", k_file));
    }
    SECTION("question mark") {
        const ExcludeFilter filter = make_filter({"a\\?"});
        CHECK(filter.is_excluded("a?", k_file));
        CHECK_FALSE(filter.is_excluded("ab", k_file));
    }
    SECTION("bracket") {
        const ExcludeFilter filter = make_filter({"\\[x]"});
        CHECK(filter.is_excluded("[x]", k_file));
        CHECK_FALSE(filter.is_excluded("x", k_file));
    }
    SECTION("backslash") {
        const ExcludeFilter filter = make_filter({"a\\\\b"});
        CHECK(filter.is_excluded("a\\b", k_file));
        CHECK_FALSE(filter.is_excluded("ab", k_file));
    }
    SECTION("an ordinary character") {
        const ExcludeFilter filter = make_filter({"\\a"});
        CHECK(filter.is_excluded("a", k_file));
    }
    SECTION("an escaped trailing space is kept") {
        const ExcludeFilter filter = make_filter({"a\\ "});
        CHECK(filter.is_excluded("a ", k_file));
        CHECK_FALSE(filter.is_excluded("a", k_file));
    }
}

TEST_CASE("surrounding whitespace in a pattern is ignored", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"  *.tmp \t"});
    CHECK(filter.is_excluded("a/x.tmp", k_file));
    CHECK_FALSE(filter.is_excluded("a/x.tmp ", k_file));
}

TEST_CASE("any of several patterns excludes", "[engine][exclude_filter]") {
    const ExcludeFilter filter = make_filter({"*.o", "/build/", ".git/"});
    CHECK(filter.is_excluded("src/a.o", k_file));
    CHECK(filter.is_excluded("build/x", k_file));
    CHECK(filter.is_excluded("sub/.git/HEAD", k_file));
    CHECK_FALSE(filter.is_excluded("src/a.c", k_file));
    CHECK_FALSE(filter.is_excluded("src/build/x", k_file));
    CHECK_FALSE(filter.is_excluded(".git", k_file));
}

TEST_CASE("malformed patterns are rejected with a message naming them",
          "[engine][exclude_filter]") {
    ExcludeFilter filter;
    filter.add_pattern("keep");

    SECTION("empty") {
        REQUIRE_THROWS_MATCHES(filter.add_pattern(""), std::invalid_argument,
                               Catch::Message("invalid exclude pattern '': the pattern is empty"));
    }
    SECTION("whitespace only") {
        REQUIRE_THROWS_MATCHES(
            filter.add_pattern(" \t "), std::invalid_argument,
            Catch::Message("invalid exclude pattern ' \t ': the pattern is empty"));
    }
    SECTION("unterminated class") {
        REQUIRE_THROWS_MATCHES(
            filter.add_pattern("[abc"), std::invalid_argument,
            Catch::Message("invalid exclude pattern '[abc': unterminated '[' character class"));
        REQUIRE_THROWS_AS(filter.add_pattern("a["), std::invalid_argument);
        REQUIRE_THROWS_AS(filter.add_pattern("[!"), std::invalid_argument);
        REQUIRE_THROWS_AS(filter.add_pattern("[]"), std::invalid_argument);
        REQUIRE_THROWS_AS(filter.add_pattern("[!]"), std::invalid_argument);
        REQUIRE_THROWS_AS(filter.add_pattern("x[a\\]"), std::invalid_argument);
    }
    SECTION("only slashes") {
        REQUIRE_THROWS_WITH(filter.add_pattern("/"),
                            Catch::Contains("invalid exclude pattern '/'"));
        REQUIRE_THROWS_AS(filter.add_pattern("//"), std::invalid_argument);
    }
    // A rejected pattern leaves the filter as it was.
    CHECK(filter.patterns() == std::vector<std::string>{"keep"});
    CHECK(filter.is_excluded("keep", k_file));
    CHECK_FALSE(filter.is_excluded("other", k_file));
}

TEST_CASE("escaped brackets are not classes and need no terminator", "[engine][exclude_filter]") {
    CHECK_NOTHROW(make_filter({"\\[abc"}));
    CHECK(make_filter({"\\[abc"}).is_excluded("[abc", k_file));
}

TEST_CASE("add_patterns_from_file reads one pattern per line", "[engine][exclude_filter]") {
    const TempDir dir;
    const auto file = dir.write("excludes", "# a comment\n"
                                            "; another comment\n"
                                            "\n"
                                            "   \t\n"
                                            "*.tmp\r\n"
                                            "/cache/   \n"
                                            "- *.log\n"
                                            "  # indented comment\n"
                                            "**/node_modules/\t\r\n"
                                            "last-without-newline");
    ExcludeFilter filter;
    filter.add_pattern("first");
    filter.add_patterns_from_file(file);

    CHECK(filter.patterns() == std::vector<std::string>{"first", "*.tmp", "/cache/", "*.log",
                                                        "**/node_modules/",
                                                        "last-without-newline"});
    CHECK(filter.is_excluded("a/x.tmp", k_file));
    CHECK_FALSE(filter.is_excluded("a/x.tmp\r", k_file)); // the '\r' was stripped
    CHECK(filter.is_excluded("cache/a", k_file));
    CHECK_FALSE(filter.is_excluded("cache", k_file)); // trailing spaces did not eat the '/'
    CHECK(filter.is_excluded("d/e.log", k_file));
    CHECK(filter.is_excluded("node_modules", k_dir));
    CHECK(filter.is_excluded("last-without-newline", k_file));
    CHECK_FALSE(filter.is_excluded("# a comment", k_file));
    CHECK_FALSE(filter.is_excluded("; another comment", k_file));
    CHECK_FALSE(filter.is_excluded("a/b.txt", k_file));
}

TEST_CASE("an empty exclude file adds nothing", "[engine][exclude_filter]") {
    const TempDir dir;
    ExcludeFilter filter;
    filter.add_patterns_from_file(dir.write("empty", ""));
    filter.add_patterns_from_file(dir.write("comments", "# only\n\n; comments\n"));
    CHECK(filter.empty());
}

TEST_CASE("add_patterns_from_file reports bad lines with file and line",
          "[engine][exclude_filter]") {
    const TempDir dir;
    ExcludeFilter filter;
    filter.add_pattern("keep");

    SECTION("an include rule") {
        const auto file = dir.write("plus", "*.tmp\n# comment\n+ *.c\n");
        REQUIRE_THROWS_MATCHES(
            filter.add_patterns_from_file(file), std::runtime_error,
            Catch::Message(file.string() +
                           ":3: include rules ('+') are not supported in an exclude file"));
    }
    SECTION("an unterminated class") {
        const auto file = dir.write("bad", "*.tmp\r\n[abc\r\n");
        REQUIRE_THROWS_MATCHES(filter.add_patterns_from_file(file), std::runtime_error,
                               Catch::Message(file.string() + ":2: invalid exclude pattern '[abc': "
                                                              "unterminated '[' character class"));
    }
    SECTION("an exclude rule with nothing after it") {
        const auto file = dir.write("dash", "a\nb\nc\n-  \t\n");
        // "- " followed by blanks is trimmed to "-", a name; "- /" names nothing.
        const auto slash = dir.write("dash-slash", "a\n- /\n");
        CHECK_NOTHROW(ExcludeFilter{}.add_patterns_from_file(file));
        REQUIRE_THROWS_WITH(filter.add_patterns_from_file(slash),
                            Catch::StartsWith(slash.string() + ":2: invalid exclude pattern '/'"));
    }
    // A bad file adds none of its lines, not even the good ones before the bad one.
    CHECK(filter.patterns() == std::vector<std::string>{"keep"});
    CHECK_FALSE(filter.is_excluded("x.tmp", k_file));
}

TEST_CASE("add_patterns_from_file reports files it cannot read", "[engine][exclude_filter]") {
    const TempDir dir;
    ExcludeFilter filter;

    SECTION("missing") {
        const auto missing = dir.path() / "nope";
        REQUIRE_THROWS_MATCHES(filter.add_patterns_from_file(missing), std::runtime_error,
                               Catch::Message("cannot read exclude file " + missing.string() +
                                              ": No such file or directory"));
    }
    SECTION("a directory") {
        REQUIRE_THROWS_WITH(
            filter.add_patterns_from_file(dir.path()),
            Catch::StartsWith("cannot read exclude file " + dir.path().string() + ": "));
    }
    SECTION("unreadable") {
        if (::geteuid() == 0) {
            WARN("running as root: permission bits do not apply, check skipped");
            return;
        }
        const auto file = dir.write("locked", "*.tmp\n");
        std::filesystem::permissions(file, std::filesystem::perms::none);
        REQUIRE_THROWS_MATCHES(
            filter.add_patterns_from_file(file), std::runtime_error,
            Catch::Message("cannot read exclude file " + file.string() + ": Permission denied"));
    }
    CHECK(filter.empty());
}

TEST_CASE("pathological patterns stay fast", "[engine][exclude_filter]") {
    // Without the matcher's abort pruning these would backtrack for far longer than a test run.
    const std::string long_name(400, 'a');
    const ExcludeFilter stars = make_filter({"*a*a*a*a*a*a*a*a*a*a*b"});
    CHECK_FALSE(stars.is_excluded(long_name, k_file));
    CHECK(stars.is_excluded(long_name + "b", k_file));

    std::string deep_path;
    for (int i = 0; i < 60; ++i) {
        deep_path += "aa/";
    }
    deep_path += "a";
    const ExcludeFilter deep = make_filter({"/**a**a**a**a**a**a**a**b"});
    CHECK_FALSE(deep.is_excluded(deep_path, k_file));
    CHECK(deep.is_excluded(deep_path + "b", k_file));

    // Here the text does not run out: each '*' stops at the '/', and only the pruning stops the
    // outer stars from retrying every split of the long name.
    const ExcludeFilter before_slash = make_filter({"/*a*a*a*a*a*a*a*a*a*a*/b"});
    CHECK_FALSE(before_slash.is_excluded(long_name + "/c", k_file));
    CHECK(before_slash.is_excluded(long_name + "/b", k_file));

    const ExcludeFilter tail = make_filter({"a/*a*a*a*a*/b"});
    CHECK_FALSE(tail.is_excluded(deep_path, k_file));
}

TEST_CASE("the matcher agrees with a naive reference on random patterns and paths",
          "[engine][exclude_filter]") {
    std::mt19937 rng(20240611); // fixed seed: failures are reproducible
    const auto pick = [&rng](std::size_t n) {
        return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
    };
    const std::vector<std::string> pattern_atoms = {"a",    "b",    "/", "*", "**", "?",
                                                    "[ab]", "[!a]", "a", "b", "/"};
    const std::vector<std::string> path_atoms = {"a", "b", "c", "/"};

    int compared = 0;
    int excluded = 0;
    for (int round = 0; round < 4000; ++round) {
        std::string pattern;
        const std::size_t atoms = 1 + pick(6);
        for (std::size_t i = 0; i < atoms; ++i) {
            pattern += pattern_atoms[pick(pattern_atoms.size())];
        }
        // Skip what the reference does not model: empty globs, several leading or trailing
        // slashes, and "***" runs made of separate atoms that the reference reads the same way.
        std::string_view glob = pattern;
        if (glob.starts_with('/')) {
            glob.remove_prefix(1);
        }
        if (glob.ends_with('/')) {
            glob.remove_suffix(1);
        }
        if (glob.empty() || glob.starts_with('/') || glob.ends_with('/')) {
            continue;
        }
        const ExcludeFilter filter = make_filter({pattern});

        for (int p = 0; p < 25; ++p) {
            std::string path;
            const std::size_t length = 1 + pick(7);
            for (std::size_t i = 0; i < length; ++i) {
                path += path_atoms[pick(path_atoms.size())];
            }
            // Only clean relative paths: no leading, trailing or doubled slashes.
            if (path.starts_with('/') || path.ends_with('/') ||
                path.find("//") != std::string::npos) {
                continue;
            }
            const EntryKind kind = pick(2) == 0 ? k_file : k_dir;
            const bool expected = reference_excluded(pattern, path, kind);
            INFO("pattern '" << pattern << "' path '" << path << "' "
                             << (kind == k_dir ? "directory" : "file"));
            REQUIRE(filter.is_excluded(path, kind) == expected);
            ++compared;
            excluded += expected ? 1 : 0;
        }
    }
    // Guard against a generator that degenerates into trivial cases.
    CHECK(compared > 20000);
    CHECK(excluded > compared / 20);
    CHECK(excluded < compared - compared / 20);
}
