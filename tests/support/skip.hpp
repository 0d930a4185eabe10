#pragma once
// Skipping a test that the machine cannot run (no sshd, no root, no fanotify): the test
// process exits with the status CTest's SKIP_RETURN_CODE names (tests/CMakeLists.txt), after
// saying why, so the run reports it skipped with the reason instead of passed.

#include <string>

namespace fsmirror::test_support {

inline constexpr int k_skip_exit_status = 4;

// Prints "SKIPPED: <reason>" and ends the process at once: no destructor runs, so it must
// come before the test has made anything that needs cleaning up.
[[noreturn]] void skip_test(const std::string& reason);

} // namespace fsmirror::test_support
