#!/usr/bin/env bash
# Formats every C++ file git tracks with the repository's .clang-format (clang-format 14,
# Debian 12's). With --check, changes nothing and fails, naming the files, when one is not
# formatted: CI runs that.
# Usage: scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.hpp')
if [ "${1:-}" = "--check" ]; then
  if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/fsmirror-format.$$; then
    grep -o '^[^:]*:[0-9]*:[0-9]*: error' /tmp/fsmirror-format.$$ | cut -d: -f1 | sort -u |
      sed 's/^/not clang-formatted: /' >&2
    rm -f /tmp/fsmirror-format.$$
    echo "run scripts/format.sh to fix" >&2
    exit 1
  fi
  rm -f /tmp/fsmirror-format.$$
  exit 0
fi
clang-format -i "${files[@]}"
