#!/usr/bin/env bash
# Builds with sanitizers and runs the tests under them; any sanitizer report fails the run.
# Usage: scripts/sanitize.sh [address|thread] [extra ctest arguments, e.g. -L unit]
#   address (default): ASan + UBSan in build-asan/, the unit and integration tiers and the man
#     page check.
#   thread: TSan in build-tsan/, the tests tagged [concurrent] (scripts/sanitize-thread.sh).
# Left out: the .deb/systemd/Ansible test, which installs the binary as a package and runs it
# under systemd, where nothing collects an instrumented binary's reports (docs/reliability.md).
# .ci/run runs both modes; docs/reliability.md says what they found.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-address}"
[ $# -gt 0 ] && shift
# scale: how much slower the instrumented daemon runs, with room for a loaded machine; it
# stretches ctest's timeouts and the tests' own liveness bounds (FSMIRROR_TEST_TIMEOUT_SCALE).
case "$mode" in
  address)
    dir=build-asan sanitizers="address;undefined" optimize="-O0" scale=4
    # Left out: the two tests that install the .deb (they package and run the plain binary, and
    # nothing collects an instrumented one's reports under systemd).
    selection=(-E '^(packaging_deb_units_ansible|packaging_systemd_units)$')
    ;;
  thread)
    dir=build-tsan sanitizers="thread" optimize="-O1" scale=6
    selection=(-LE packaging) # a TSan build registers only the [concurrent] tests
    ;;
  *)
    echo "usage: scripts/sanitize.sh [address|thread] [ctest arguments]" >&2
    exit 2
    ;;
esac
logs="$PWD/$dir/sanitizer-logs"
# Cheaper code generation than RelWithDebInfo's -O2 -g keeps the sanitizer stages of .ci/run
# within their budget. GCC 12's CPU time for engine/tree_mirror.cpp: 7.7 s plain (-O2 -g);
# with ASan + UBSan 42 s at -O2 -g, 16 s at -O1 -g1, 6 s at -O0 -g1; with TSan 5 s at -O1 -g1
# (TSan is too slow at run time without optimisation). -g1's line tables still give every
# frame of a report its file and line. Warnings are errors here too: GCC 12's false
# maybe-uninitialized warnings inside <regex> under ASan come with -O2, not at these levels.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$optimize -g1 -DNDEBUG" -DFSMIRROR_SANITIZE="$sanitizers" \
  -DFSMIRROR_TEST_TIMEOUT_SCALE="$scale" -DFSMIRROR_WERROR=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fsmirror fsmirror_unit_tests \
  fsmirror_integration_tests fsmirror_test_sqlite_writer

# Every process writes its reports to files here (log_path adds the pid): the test binaries,
# the daemons they start, the helpers those run, and the remote agents, which sshd starts with
# a fresh environment (tests/support/sshd_server.cpp passes these variables on with SetEnv).
# So a report in a child whose exit status nobody checks still fails the run.
rm -rf "$logs"
mkdir -p "$logs"
suppressions="$PWD/scripts/sanitizer-suppressions"
export ASAN_OPTIONS="log_path=$logs/asan:halt_on_error=1:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=1"
export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$logs/ubsan:halt_on_error=1:print_stacktrace=1"
export TSAN_OPTIONS="log_path=$logs/tsan:halt_on_error=1:second_deadlock_stack=1:suppressions=$suppressions/tsan.supp"
export FSMIRROR_TEST_TIMEOUT_SCALE="$scale"

started=$SECONDS
status=0
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" "${selection[@]}" "$@" || status=$?
echo "sanitize.sh ($mode): ctest took $((SECONDS - started)) s"
if compgen -G "$logs/*" >/dev/null; then
  echo "sanitize.sh ($mode): sanitizer reports in $logs:"
  for report in "$logs"/*; do
    echo "--- $report"
    head -n 80 "$report"
  done
  status=1
fi
exit "$status"
