#!/usr/bin/env bash
# Installs everything fsmirror needs to build and test, from Debian 12 packages, and the extra
# packages named as arguments (scripts/fuzz.sh adds its compiler this way, so CI does not
# download a second toolchain it never uses).
# Usage: scripts/install-deps.sh [extra-package...]
set -euo pipefail
packages=(
  build-essential cmake pkg-config git clang-format
  libfmt-dev libyaml-cpp-dev catch2 librsync-dev libssh2-1-dev libsqlite3-dev
  liblua5.4-dev libcurl4-openssl-dev libxxhash-dev nlohmann-json3-dev
  openssh-server openssh-client python3 python3-aiosmtpd sqlite3 rsync
  # packaging tests (tests/packaging): the role is linted and run for real; about a minute
  ansible-core ansible-lint logrotate strace lua5.4
  # the packaged units under a real systemd booted in namespaces (tests/packaging/systemd_units.sh)
  systemd iproute2
  "$@"
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
