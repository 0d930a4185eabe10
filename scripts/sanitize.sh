#!/usr/bin/env bash
# Builds with sanitizers and runs the tests under them; any sanitizer report fails the run.
# Usage: scripts/sanitize.sh [address|thread] [extra ctest arguments, e.g. -L unit]
#   address (default): ASan + UBSan in build-asan/, the unit and integration tiers.
#   thread: TSan in build-tsan/, the engine's concurrent tests (scripts/sanitize-thread.sh).
# The packaging tier is left out: it packages and installs the binary, which proves nothing
# about an instrumented one.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-address}"
[ $# -gt 0 ] && shift
case "$mode" in
  address) dir=build-asan sanitizers="address;undefined" ;;
  thread) dir=build-tsan sanitizers="thread" ;;
  *)
    echo "usage: scripts/sanitize.sh [address|thread] [ctest arguments]" >&2
    exit 2
    ;;
esac
logs="$PWD/$dir/sanitizer-logs"
# Warnings are not errors here: GCC 12 with -fsanitize=address warns (maybe-uninitialized)
# inside libstdc++'s <regex>, which Catch2 includes; the ordinary -Werror build is the gate.
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFSMIRROR_SANITIZE="$sanitizers" \
  -DFSMIRROR_WERROR=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fsmirror fsmirror_unit_tests \
  fsmirror_integration_tests fsmirror_test_sqlite_writer

# Every process writes its reports to files here, the daemons the integration tests start and
# the helpers they run included, so a report in a child nobody waits for still fails the run.
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:strict_string_checks=1:check_initialization_order=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="log_path=$logs/tsan:second_deadlock_stack=1"

started=$SECONDS
status=0
ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" -LE packaging "$@" || status=$?
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
