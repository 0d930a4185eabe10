// plan_directory: the pure decisions of comparing one directory.

#include "engine/directory_diff.hpp"

#include <algorithm>

#include <catch2/catch.hpp>

using namespace fsmirror;
using namespace fsmirror::engine;
using transport::DirEntry;
using transport::EntryInfo;
using transport::EntryType;

namespace {

EntryInfo file(std::uint64_t size, std::int64_t mtime, std::uint32_t mode = 0644) {
    EntryInfo info;
    info.type = EntryType::file;
    info.size = size;
    info.mtime_ns = mtime;
    info.mode = mode;
    return info;
}

EntryInfo directory(std::uint32_t mode = 0755) {
    EntryInfo info;
    info.type = EntryType::directory;
    info.mode = mode;
    return info;
}

DirectoryRules rules_for(std::string path) {
    DirectoryRules rules;
    rules.path = std::move(path);
    rules.same_mtime = [](const EntryInfo& a, const EntryInfo& b) {
        return a.mtime_ns == b.mtime_ns;
    };
    rules.attributes_differ = [](const EntryInfo& a, const EntryInfo& b) {
        return a.mode != b.mode || (a.type != EntryType::directory && a.mtime_ns != b.mtime_ns);
    };
    return rules;
}

std::vector<std::string> names_of(const std::vector<PlannedLeaf>& leaves) {
    std::vector<std::string> names;
    for (const auto& leaf : leaves)
        names.push_back(leaf.name);
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> names_of(const std::vector<DirEntry>& entries) {
    std::vector<std::string> names;
    for (const auto& entry : entries)
        names.push_back(entry.name);
    return names;
}

} // namespace

TEST_CASE("a directory plan sends what is missing or different and nothing that is up to date",
          "[engine][directory_diff]") {
    auto plan = plan_directory(rules_for("d"),
                               {{"same", file(3, 10)},
                                {"new", file(1, 10)},
                                {"bigger", file(9, 10)},
                                {"newer", file(3, 11)},
                                {"mode_only", file(3, 10, 0600)}},
                               {{"same", file(3, 10)},
                                {"bigger", file(3, 10)},
                                {"newer", file(3, 10)},
                                {"mode_only", file(3, 10)}});
    CHECK(names_of(plan.transfers) == std::vector<std::string>{"bigger", "new", "newer"});
    for (const auto& leaf : plan.transfers) {
        CHECK(leaf.kind == (leaf.name == "new" ? ChangeKind::create : ChangeKind::modify));
        CHECK(leaf.target.has_value() == (leaf.name != "new"));
    }
    REQUIRE(plan.attributes.size() == 1);
    CHECK(plan.attributes[0].name == "mode_only");
    CHECK(plan.extras.empty());
    CHECK(plan.target_entries == 4);
}

TEST_CASE("a directory plan enters every subdirectory and makes the missing ones",
          "[engine][directory_diff]") {
    auto plan = plan_directory(
        rules_for(""),
        {{"kept", directory()},
         {"missing", directory()},
         {"was_file", directory()},
         {"chmod", directory(0700)}},
        {{"kept", directory()}, {"was_file", file(1, 1)}, {"chmod", directory(0755)}});
    REQUIRE(plan.directories.size() == 4);
    for (const auto& dir : plan.directories) {
        INFO(dir.name);
        CHECK(dir.make == (dir.name == "missing" || dir.name == "was_file"));
        CHECK(dir.absent == (dir.name == "missing"));
        CHECK(dir.attributes_differ == (dir.name != "kept"));
    }
    CHECK(plan.transfers.empty());
    CHECK(plan.extras.empty()); // a file replaced by a directory is not also deleted
}

TEST_CASE("a directory plan reports target-only entries, sorted, but not excluded ones or the "
          "root's marker",
          "[engine][directory_diff]") {
    auto rules = rules_for("");
    rules.excluded = [](const std::string& child, EntryKind) {
        return child.ends_with(".tmp");
    };
    auto plan = plan_directory(rules, {{"a", file(1, 1)}, {"b.tmp", file(1, 1)}},
                               {{"z", file(1, 1)},
                                {"a", file(1, 1)},
                                {"old", directory()},
                                {"b.tmp", file(5, 5)},
                                {"c.tmp", file(1, 1)},
                                {".fsmirror", file(1, 1)}});
    CHECK(names_of(plan.extras) == std::vector<std::string>{"old", "z"});
    CHECK(plan.transfers.empty()); // b.tmp is excluded, so it is neither sent nor deleted
    CHECK(plan.target_entries == 5);

    // Below the root a `.fsmirror` is an ordinary name.
    auto below = plan_directory(rules_for("sub"), {}, {{".fsmirror", file(1, 1)}});
    CHECK(names_of(below.extras) == std::vector<std::string>{".fsmirror"});
}

TEST_CASE("a directory plan skips database companions and always sends a live database",
          "[engine][directory_diff]") {
    auto rules = rules_for("db");
    rules.companions = {"app.db-wal"};
    rules.live_databases = {"app.db"};
    auto plan = plan_directory(rules, {{"app.db", file(4096, 7)}, {"app.db-wal", file(100, 8)}},
                               {{"app.db", file(4096, 7)}, {"app.db-shm", file(10, 1)}});
    CHECK(names_of(plan.transfers) == std::vector<std::string>{"app.db"});
    CHECK(names_of(plan.extras) == std::vector<std::string>{"app.db-shm"});
}

TEST_CASE("a directory plan re-sends forced inodes and everything below an untrusted directory",
          "[engine][directory_diff]") {
    auto linked = file(3, 10);
    linked.inode = 42;
    linked.link_count = 2;
    auto plain = file(3, 10);
    plain.inode = 7;
    auto rules = rules_for("d");
    rules.forced = [](std::uint64_t inode) {
        return inode == 42;
    };
    auto plan = plan_directory(rules, {{"linked", linked}, {"plain", plain}},
                               {{"linked", file(3, 10)}, {"plain", file(3, 10)}});
    CHECK(names_of(plan.transfers) == std::vector<std::string>{"linked"});
    REQUIRE(plan.hard_linked.size() == 1);
    CHECK(plan.hard_linked[0].name == "d/linked");

    rules.quick_check = QuickCheck::not_trusted;
    plan = plan_directory(rules, {{"linked", linked}, {"plain", plain}},
                          {{"linked", file(3, 10)}, {"plain", file(3, 10)}});
    CHECK(names_of(plan.transfers) == std::vector<std::string>{"linked", "plain"});
}

TEST_CASE("a directory plan replaces a symlink pointing elsewhere", "[engine][directory_diff]") {
    EntryInfo link;
    link.type = EntryType::symlink;
    link.link_target = "new";
    EntryInfo old_link = link;
    old_link.link_target = "old";
    auto plan = plan_directory(rules_for(""), {{"l", link}, {"same", link}},
                               {{"l", old_link}, {"same", link}});
    CHECK(names_of(plan.transfers) == std::vector<std::string>{"l"});
}
