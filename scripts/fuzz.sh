#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) in build-fuzz/ with ASan + UBSan and runs each for a
# bounded time, starting from its seed corpus in tests/fuzz-corpus/<target>/. Inputs the fuzzer
# finds go to build-fuzz/corpus/<target>/ (the seeds in tests/ are never written); a crash,
# sanitizer report, leak or timeout leaves build-fuzz/crash-<target>-* and fails the script.
# Usage: scripts/fuzz.sh [seconds per target, default 60] [target...]
#   targets: yaml_config lua_config agent_protocol exclude_pattern (default: all)
# Replay one input: build-fuzz/fuzz/fuzz_<target> <file>
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(yaml_config lua_config agent_protocol exclude_pattern)
# clang 19 is Debian 12's first clang whose C++23 mode accepts libstdc++ 12's <expected>; llvm
# gives sanitizer reports their symbols.
scripts/install-deps.sh clang-19 libclang-rt-19-dev llvm
compiler="${FUZZ_CXX:-clang++-19}"
# Warnings are not errors here: GCC's -Werror build is the gate, and clang 19 warns inside
# libstdc++ 12 itself (std::get_temporary_buffer is deprecated in C++23).
cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER="$compiler" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DFSMIRROR_FUZZ=ON -DFSMIRROR_SANITIZE="address;undefined" -DBUILD_TESTING=OFF \
  -DFSMIRROR_WERROR=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"

failed=()
for target in "${targets[@]}"; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  # The Lua loader's seeds are also the lsyncd config corpus the tests load, read in place.
  extra_seeds=()
  [ "$target" = lua_config ] && extra_seeds=(tests/lsyncd-configs tests/lsyncd-configs/bad)
  log=build-fuzz/fuzz-$target.log
  echo "== fuzz_$target: ${seconds} s from tests/fuzz-corpus/$target"
  # -timeout: one input taking 25 s is a hang (runaway backtracking, a loop the sandbox misses);
  # generous, because a loaded machine stretches the clock and the Lua sandbox allows 1 s of CPU.
  if build-fuzz/fuzz/fuzz_"$target" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
      -artifact_prefix=build-fuzz/crash-"$target"- -print_final_stats=1 \
      "$corpus" tests/fuzz-corpus/"$target" "${extra_seeds[@]}" >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$log" | tr '\n' ' '
    echo
  else
    failed+=("$target")
    tail -n 60 "$log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (inputs in build-fuzz/crash-*, logs in build-fuzz/fuzz-*.log)"
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${seconds} s each without a finding"
