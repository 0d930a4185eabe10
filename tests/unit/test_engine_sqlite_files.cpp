// The pure SQLite name and header rules.

#include "engine/sqlite_files.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace fsmirror::engine;

namespace {

std::vector<unsigned char> header(unsigned char write_version, unsigned char read_version) {
    const std::string magic("SQLite format 3\0", 16);
    std::vector<unsigned char> bytes(magic.begin(), magic.end());
    bytes.push_back(0x10); // page size 4096, big-endian
    bytes.push_back(0x00);
    bytes.push_back(write_version);
    bytes.push_back(read_version);
    return bytes;
}

} // namespace

TEST_CASE("the header decides what is a database and in which journal mode", "[engine][sqlite]") {
    CHECK(classify_header(header(1, 1)) == DatabaseFormat::rollback);
    CHECK(classify_header(header(2, 2)) == DatabaseFormat::wal);
    CHECK(classify_header(header(2, 1)) == DatabaseFormat::rollback);

    SECTION("anything short of the whole magic is not a database") {
        CHECK(classify_header({}) == DatabaseFormat::not_database);
        auto truncated = header(2, 2);
        truncated.pop_back();
        CHECK(classify_header(truncated) == DatabaseFormat::not_database);
        auto no_nul = header(1, 1);
        no_nul[15] = ' ';
        CHECK(classify_header(no_nul) == DatabaseFormat::not_database);
        auto lower = header(1, 1);
        lower[0] = 's';
        CHECK(classify_header(lower) == DatabaseFormat::not_database);
        const std::string text = "SQLite format 3 is the header of a database\n";
        CHECK(classify_header(std::vector<unsigned char>(text.begin(), text.end())) ==
              DatabaseFormat::not_database);
    }
}

TEST_CASE("companion names map to their database", "[engine][sqlite]") {
    auto wal = companion_of("app.db-wal");
    REQUIRE(wal);
    CHECK(wal->database == "app.db");
    CHECK(wal->kind == CompanionKind::wal);

    auto journal = companion_of("a/b/data-journal");
    REQUIRE(journal);
    CHECK(journal->database == "a/b/data");
    CHECK(journal->kind == CompanionKind::journal);

    auto shm = companion_of("dir.d/x.sqlite3-shm");
    REQUIRE(shm);
    CHECK(shm->database == "dir.d/x.sqlite3");
    CHECK(shm->kind == CompanionKind::shm);

    SECTION("names that only look alike are not companions") {
        CHECK_FALSE(companion_of("app.db"));
        CHECK_FALSE(companion_of("-wal"));     // nothing before the suffix
        CHECK_FALSE(companion_of("dir/-wal")); // the same in a directory
        CHECK_FALSE(companion_of("app.db.wal"));
        CHECK_FALSE(companion_of("app.db-WAL"));
        CHECK_FALSE(companion_of("app.db-wal/inner")); // a directory named like one
        CHECK_FALSE(companion_of(""));
    }
    SECTION("companion_path is the inverse") {
        for (CompanionKind kind : k_companion_kinds) {
            auto back = companion_of(companion_path("d/app.db", kind));
            REQUIRE(back);
            CHECK(back->database == "d/app.db");
            CHECK(back->kind == kind);
        }
    }
}
