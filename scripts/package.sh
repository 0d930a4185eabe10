#!/usr/bin/env bash
# Builds the Debian package fsmirror_<version>_amd64.deb (cmake/Packaging.cmake says what is in it).
# Usage: scripts/package.sh [BUILD_DIR]   (default build-package/; the .deb lands there)
# A release build without tests, installed under /usr, with -Werror off as packagers want.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build-package}
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DBUILD_TESTING=OFF -DFSMIRROR_WERROR=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
(cd "$build_dir" && cpack -G DEB)
ls "$build_dir"/fsmirror_*.deb
