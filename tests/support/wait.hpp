#pragma once
// Polling waits for conditions that a separate process makes true. The timeouts are liveness
// bounds (how long before we call it hung), never performance assertions: pick them generously.

#include "tests/support/tree_compare.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace fsmirror::test_support {

// Liveness bound for "the mirror catches up": far above any sane latency on a loaded CI box.
inline constexpr std::chrono::milliseconds k_settle_timeout{20'000};

// Calls `condition` every 20 ms until it returns true. Returns true as soon as it does, false
// when it is still false once `timeout` has passed.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// Waits until compare_trees(source, target, options) finds no difference. Returns true when
// the trees became identical; on timeout returns false. Either way `last_differences`, when
// given, receives the result of the last comparison (empty on success).
bool wait_for_identical_trees(const std::filesystem::path& source,
                              const std::filesystem::path& target,
                              std::chrono::milliseconds timeout,
                              std::vector<std::string>* last_differences,
                              const CompareOptions& options = {});

} // namespace fsmirror::test_support
