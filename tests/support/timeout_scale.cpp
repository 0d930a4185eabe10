#include "tests/support/timeout_scale.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace fsmirror::test_support {

namespace {

constexpr const char* k_variable = "FSMIRROR_TEST_TIMEOUT_SCALE";
constexpr double k_largest_scale = 20;

double read_scale() {
    const char* text = std::getenv(k_variable);
    if (text == nullptr || *text == '\0')
        return 1;
    char* end = nullptr;
    const double value = std::strtod(text, &end);
    if (*end != '\0' || !(value >= 1 && value <= k_largest_scale)) {
        std::fprintf(stderr, "%s=%s: expected a number from 1 to %g\n", k_variable, text,
                     k_largest_scale);
        std::exit(2);
    }
    return value;
}

} // namespace

double timeout_scale() {
    static const double scale = read_scale();
    return scale;
}

std::chrono::milliseconds scaled_timeout(std::chrono::milliseconds timeout) {
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
        static_cast<double>(timeout.count()) * timeout_scale()));
}

} // namespace fsmirror::test_support
