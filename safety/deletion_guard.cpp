#include "safety/deletion_guard.hpp"

#include <fmt/format.h>

namespace fsmirror::safety {

std::optional<GuardVerdict> review_deletions(const DeletionCounts& counts,
                                             const DeletionGuardLimits& limits) {
    if (counts.planned == 0)
        return std::nullopt;
    if (counts.source_root == SourceRoot::missing)
        return GuardVerdict{GuardReason::source_missing,
                            fmt::format("{} deletions planned while the source root cannot be "
                                        "read (vanished or unmounted?)",
                                        counts.planned)};
    if (counts.source_root == SourceRoot::empty)
        return GuardVerdict{GuardReason::source_empty,
                            fmt::format("{} deletions planned and the source root is empty (an "
                                        "unmounted volume looks like this)",
                                        counts.planned)};
    const std::uint64_t total = counts.planned + counts.recent;
    if (total > limits.max_files)
        return GuardVerdict{
            GuardReason::too_many_files,
            counts.recent == 0
                ? fmt::format("the batch would delete {} entries (more than max_delete_files "
                              "{})",
                              counts.planned, limits.max_files)
                : fmt::format("the batch would delete {} entries after {} deleted just before "
                              "({} together, more than max_delete_files {})",
                              counts.planned, counts.recent, total, limits.max_files)};
    if (limits.max_percent < 100 && total > k_share_rule_floor) {
        // The share of what the target held before the window's deletions began.
        const std::uint64_t before = std::max(counts.target_entries, total);
        if (total * 100 > static_cast<std::uint64_t>(limits.max_percent) * before)
            return GuardVerdict{GuardReason::too_large_share,
                                fmt::format("the batch would delete {} of about {} entries on the "
                                            "target ({}%, more than max_delete_percent {}%)",
                                            total, before, total * 100 / before,
                                            limits.max_percent)};
    }
    return std::nullopt;
}

const char* to_string(GuardReason reason) {
    switch (reason) {
    case GuardReason::source_missing:
        return "source_missing";
    case GuardReason::source_empty:
        return "source_empty";
    case GuardReason::too_many_files:
        return "too_many_files";
    case GuardReason::too_large_share:
        return "too_large_share";
    }
    return "unknown";
}

} // namespace fsmirror::safety
