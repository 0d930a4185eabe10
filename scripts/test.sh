#!/usr/bin/env bash
# Installs the dependencies, builds, and runs the whole test suite (unit + integration).
# Integration tests use real inotify, real directories and, where present, real servers on
# loopback; a test whose prerequisite is missing reports itself skipped, never passed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
