#include "safety/path_checks.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::safety;

TEST_CASE("overlapping source and target are classified", "[safety]") {
    CHECK(classify_overlap("/srv/a", "/srv/a") == Overlap::same);
    CHECK(classify_overlap("/srv/a/", "/srv/a") == Overlap::same);
    CHECK(classify_overlap("/srv/a", "/srv/a/mirror") == Overlap::target_inside_source);
    CHECK(classify_overlap("/srv/a/data", "/srv/a") == Overlap::source_inside_target);
    CHECK(classify_overlap("/srv/a", "/srv/ab") == Overlap::none);
    CHECK(classify_overlap("/srv/ab", "/srv/a") == Overlap::none);
    CHECK(classify_overlap("/mnt/storage_do_1", "/mnt/storage_do_2") == Overlap::none);
}

TEST_CASE("system directories are never targets", "[safety]") {
    CHECK(is_system_directory("/"));
    CHECK(is_system_directory("/etc"));
    CHECK(is_system_directory("/usr/"));
    CHECK_FALSE(is_system_directory("/srv/mirror"));
    CHECK_FALSE(is_system_directory("/var/backups/mirror"));
}

TEST_CASE("the refusal names both paths and the fix", "[safety]") {
    auto inside = check_source_target_paths("/data", "/data/copy");
    REQUIRE(inside);
    CHECK_THAT(*inside, Catch::Contains("/data/copy") && Catch::Contains("inside source /data"));
    auto root = check_source_target_paths("/data", "/");
    REQUIRE(root);
    CHECK_THAT(*root, Catch::Contains("system directory"));
    CHECK_FALSE(check_source_target_paths("/data", "/backup/data"));
}
