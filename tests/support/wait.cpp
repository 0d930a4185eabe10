#include "tests/support/wait.hpp"

#include "tests/support/timeout_scale.hpp"

#include <thread>

namespace fsmirror::test_support {

namespace {
constexpr auto k_poll_interval = std::chrono::milliseconds(20);
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + scaled_timeout(timeout);
    for (;;) {
        if (condition())
            return true;
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(k_poll_interval);
    }
}

bool wait_for_identical_trees(const std::filesystem::path& source,
                              const std::filesystem::path& target,
                              std::chrono::milliseconds timeout,
                              std::vector<std::string>* last_differences,
                              const CompareOptions& options) {
    std::vector<std::string> differences;
    const bool identical = wait_until(
        [&] {
            differences = compare_trees(source, target, options);
            return differences.empty();
        },
        timeout);
    if (last_differences != nullptr)
        *last_differences = std::move(differences);
    return identical;
}

} // namespace fsmirror::test_support
