#include "tests/support/skip.hpp"

#include <cstdio>
#include <cstdlib>

namespace fsmirror::test_support {

void skip_test(const std::string& reason) {
    std::fprintf(stderr, "SKIPPED: %s\n", reason.c_str());
    std::fflush(stderr);
    std::_Exit(k_skip_exit_status);
}

} // namespace fsmirror::test_support
