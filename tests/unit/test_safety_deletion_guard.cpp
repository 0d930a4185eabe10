#include "safety/deletion_guard.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::safety;

namespace {

DeletionCounts counts(std::uint64_t planned, std::uint64_t target_entries, std::uint64_t recent = 0,
                      SourceRoot root = SourceRoot::has_entries) {
    DeletionCounts c;
    c.planned = planned;
    c.recent = recent;
    c.target_entries = target_entries;
    c.source_root = root;
    return c;
}

} // namespace

TEST_CASE("nothing planned never trips the guard", "[safety][guard]") {
    const DeletionGuardLimits limits;
    CHECK_FALSE(review_deletions(counts(0, 100), limits));
    CHECK_FALSE(review_deletions(counts(0, 100, 5000, SourceRoot::empty), limits));
    CHECK_FALSE(review_deletions(counts(0, 0, 0, SourceRoot::missing), limits));
}

TEST_CASE("an empty or unreadable source root holds every deletion, at any size",
          "[safety][guard]") {
    const DeletionGuardLimits limits;
    // lsyncd's reproduction: an empty mountpoint and a mirror of three files.
    auto empty = review_deletions(counts(3, 3, 0, SourceRoot::empty), limits);
    REQUIRE(empty);
    CHECK(empty->reason == GuardReason::source_empty);
    CHECK_THAT(empty->message, Catch::Contains("source root is empty"));
    auto one = review_deletions(counts(1, 1000, 0, SourceRoot::empty), limits);
    REQUIRE(one);
    CHECK(one->reason == GuardReason::source_empty);
    auto missing = review_deletions(counts(1, 1000, 0, SourceRoot::missing), limits);
    REQUIRE(missing);
    CHECK(missing->reason == GuardReason::source_missing);
    // Even with every limit opened up.
    CHECK(
        review_deletions(counts(1, 1, 0, SourceRoot::empty), DeletionGuardLimits{100, 1'000'000}));
}

TEST_CASE("more than max_files deletions trip the guard", "[safety][guard]") {
    const DeletionGuardLimits limits{50, 1000};
    CHECK_FALSE(review_deletions(counts(1000, 1'000'000), limits));
    auto over = review_deletions(counts(1001, 1'000'000), limits);
    REQUIRE(over);
    CHECK(over->reason == GuardReason::too_many_files);
    CHECK_THAT(over->message, Catch::Contains("1001") && Catch::Contains("max_delete_files 1000"));
}

TEST_CASE("recent deletions count with the batch's own", "[safety][guard]") {
    const DeletionGuardLimits limits{50, 1000};
    // A large rm -rf arrives as batches of max_delays paths: each alone is under the limit.
    CHECK_FALSE(review_deletions(counts(600, 100'000, 400), limits));
    auto together = review_deletions(counts(600, 100'000, 401), limits);
    REQUIRE(together);
    CHECK(together->reason == GuardReason::too_many_files);
    CHECK_THAT(together->message, Catch::Contains("after 401 deleted just before"));
}

TEST_CASE("more than max_percent of the target trips the guard", "[safety][guard]") {
    const DeletionGuardLimits limits{50, 1000};
    CHECK_FALSE(review_deletions(counts(50, 100), limits));
    auto over = review_deletions(counts(51, 100), limits);
    REQUIRE(over);
    CHECK(over->reason == GuardReason::too_large_share);
    CHECK_THAT(over->message, Catch::Contains("51 of about 100") && Catch::Contains("51%"));
    // The share includes the window: 30 now after 30 before, of the 100 there were.
    CHECK(review_deletions(counts(30, 100, 30), limits));
    // An estimate below the planned count is not trusted: the share is then 100%.
    CHECK(review_deletions(counts(20, 5), limits));
}

TEST_CASE("the share rule starts above a small floor", "[safety][guard]") {
    const DeletionGuardLimits limits{50, 1000};
    // Deleting 3 of 5 files is ordinary work.
    CHECK_FALSE(review_deletions(counts(3, 5), limits));
    CHECK_FALSE(review_deletions(counts(k_share_rule_floor, k_share_rule_floor), limits));
    CHECK(review_deletions(counts(k_share_rule_floor + 1, k_share_rule_floor + 1), limits));
}

TEST_CASE("max_percent 100 turns the share rule off, not the others", "[safety][guard]") {
    const DeletionGuardLimits limits{100, 1000};
    CHECK_FALSE(review_deletions(counts(999, 999), limits));
    CHECK(review_deletions(counts(1001, 1001), limits));
    CHECK(review_deletions(counts(5, 5, 0, SourceRoot::empty), limits));
}

TEST_CASE("guard reasons have stable names", "[safety][guard]") {
    CHECK(std::string(to_string(GuardReason::source_empty)) == "source_empty");
    CHECK(std::string(to_string(GuardReason::source_missing)) == "source_missing");
    CHECK(std::string(to_string(GuardReason::too_many_files)) == "too_many_files");
    CHECK(std::string(to_string(GuardReason::too_large_share)) == "too_large_share");
}
