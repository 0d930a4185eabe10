#!/usr/bin/env bash
# Builds fsmirror_<version>_amd64.deb for the packaging tests and prints its path.
#
# Usage: tests/packaging/build_deb.sh OUT_DIR [BUILD_DIR]
#   BUILD_DIR  package the fsmirror already built there, when it is configured with prefix /usr
#              (the default); otherwise scripts/package.sh builds one in OUT_DIR/build
# The build's output goes to OUT_DIR/cpack.log. Exit status 1 when no package was built.
set -uo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
out_dir=$1
build_dir=${2:-}
mkdir -p "$out_dir"
version=$(sed -n 's/^project(fsmirror VERSION \([0-9.]*\).*/\1/p' "$source_dir/CMakeLists.txt")
deb_name="fsmirror_${version}_amd64.deb"
if [ -n "$build_dir" ] &&
   grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  cmake --build "$build_dir" --target fsmirror fsmirror_man_pages fsmirror_changelog \
    >"$out_dir/cpack.log" 2>&1 &&
    cpack --config "$build_dir/CPackConfig.cmake" -B "$out_dir/package" >>"$out_dir/cpack.log" 2>&1
  deb=$out_dir/package/$deb_name
else
  [ -n "$build_dir" ] && echo "note: $build_dir is not configured with prefix /usr; building anew" >&2
  "$source_dir/scripts/package.sh" "$out_dir/build" >"$out_dir/cpack.log" 2>&1
  deb=$out_dir/build/$deb_name
fi
if [ ! -f "$deb" ]; then
  echo "no $deb_name was built:" >&2
  tail -30 "$out_dir/cpack.log" >&2
  exit 1
fi
echo "$deb"
