#!/usr/bin/env bash
# Configures and builds into build/ (the binary lands at build/fsmirror).
# Usage: scripts/build.sh [cmake --build arguments, e.g. --target fsmirror]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build build -j"$(nproc)" "$@"
