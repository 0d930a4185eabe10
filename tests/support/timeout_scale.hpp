#pragma once
// Liveness bounds stretched for slow builds. Under AddressSanitizer or ThreadSanitizer the daemon
// runs several times slower, so a bound that is generous for the plain build can run out before
// a correct daemon catches up. The sanitizer scripts set FSMIRROR_TEST_TIMEOUT_SCALE; the
// polling waits (wait_until, ChildProcess::wait_for_exit and wait_for_log) apply it, so every
// test's bound stretches without each test knowing.

#include <chrono>

namespace fsmirror::test_support {

// Returns FSMIRROR_TEST_TIMEOUT_SCALE read once per process: a number from 1 to 20, or 1 when the
// variable is unset. A malformed or out-of-range value ends the process with a message naming
// the variable (exit status 2), since a silently ignored value hides why a run times out.
double timeout_scale();

// Returns `timeout` multiplied by timeout_scale().
std::chrono::milliseconds scaled_timeout(std::chrono::milliseconds timeout);

} // namespace fsmirror::test_support
