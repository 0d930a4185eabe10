#!/usr/bin/env bash
# The man pages say what the binary does: every command of `fsmirror --help`, every option of
# each command's --help, and every key the YAML loader knows appear in fsmirror(1) and
# fsmirror.yml(5), and both pages render without groff warnings. When a command, option or key
# is added, this test fails until the page documents it.
# Usage: tests/packaging/man_pages.sh FSMIRROR_BINARY [SOURCE_DIR]
# Exit status: 0 passed, 1 failed, 4 skipped (a prerequisite is missing).
set -uo pipefail
binary=${1:?usage: man_pages.sh FSMIRROR_BINARY [SOURCE_DIR]}
source_dir=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
page1=$source_dir/packaging/man/fsmirror.1
page5=$source_dir/packaging/man/fsmirror.yml.5
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The commands listed under COMMANDS in `fsmirror --help`.
commands=$("$binary" --help | awk '/^COMMANDS/{on=1; next} /^[A-Z]/{on=0} on && /^    [a-z]/{print $1}')
[ -n "$commands" ] || fail "no commands found in fsmirror --help"
for command in $commands; do
  grep -qx "\.B $command" "$page1" || fail "fsmirror(1) has no entry '.B $command' under COMMANDS"
  # Each option of the command, from the OPTIONS section of its help. Only option lines count:
  # lines that start, at the section's option indent (that of its first line; descriptions are
  # indented further), with a dash. Their options are the one that begins the line and those
  # that follow ", " (`-c, --config FILE`, `--no-perms, --no-times`), up to an inline
  # description after two spaces (`--root DIR   the directory ...`). Words in prose, such as
  # the -wal, -shm and -journal suffixes of SQLite's files or rsync's --rsync-path, are not
  # options of fsmirror.
  options=$("$binary" "$command" --help | awk '
    /^OPTIONS/ { on = 1; indent = -1; next }
    /^[A-Z]/ { on = 0 }
    !on || !NF { next }
    {
      match($0, /^ */)
      if (indent < 0) indent = RLENGTH
      if (RLENGTH != indent) next
      line = substr($0, RLENGTH + 1)
      if (substr(line, 1, 1) != "-") next
      cut = index(line, "  ")
      if (cut) line = substr(line, 1, cut - 1)
      n = split(line, pieces, ", ")
      for (i = 1; i <= n; i++) {
        if (!match(pieces[i], /^--?[a-zA-Z][a-zA-Z-]*/)) break
        print substr(pieces[i], 1, RLENGTH)
      }
    }' | sort -u)
  [ -n "$options" ] || fail "no options found in the OPTIONS section of fsmirror $command --help"
  for option in $options; do
    escaped=${option//-/\\\\-}
    grep -q -- "$escaped" "$page1" || fail "fsmirror(1) does not document $command $option"
  done
done

# The keys the loader knows, from its own "unknown key" messages.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
known_keys() { # YAML text -> the known keys its error lists
  printf '%s' "$1" > "$scratch/probe.yml"
  "$binary" sync --config "$scratch/probe.yml" 2>&1 | sed -n 's/.*(known keys: \(.*\))$/\1/p' |
    tr -d ',' | tr ' ' '\n'
}
sync='syncs: [{source: /nonexistent/a, target: /nonexistent/b'
for key in $(known_keys "probe_unknown_key: 1
$sync}]"); do
  grep -qi "^\.SH $key\$" "$page5" || fail "fsmirror.yml(5) has no section for top-level key '$key'"
done
for yaml in "$sync, probe_unknown_key: 1}]" "$sync, preserve: {probe_unknown_key: 1}}]" \
            "$sync, ssh: {probe_unknown_key: 1}}]" "$sync, sqlite: {probe_unknown_key: 1}}]" \
            "syncs: [{source: /nonexistent/a, target: {host: h, path: /b, probe_unknown_key: 1}}]" \
            "log: {probe_unknown_key: 1}
$sync}]"; do
  keys=$(known_keys "$yaml")
  [ -n "$keys" ] || fail "no known keys in the loader's message for: $yaml"
  for key in $keys; do
    grep -qE "^\.B[IR]? $key:" "$page5" || fail "fsmirror.yml(5) does not document key '$key'"
  done
done

# Every example is named in fsmirror.yml(5).
for example in "$source_dir"/examples/*; do
  name=$(basename "$example")
  grep -q -- "${name//-/\\\\-}" "$page5" || fail "fsmirror.yml(5) does not name examples/$name"
done

# Both pages render cleanly.
if command -v man >/dev/null && command -v groff >/dev/null; then
  for page in "$page1" "$page5"; do
    warnings=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$(basename "$page") renders with warnings: $warnings"
  done
else
  echo "note: man/groff missing, rendering not checked"
fi

if [ "$failures" -gt 0 ]; then
  echo "$failures problem(s) in the man pages"
  exit 1
fi
echo "man pages: every command, option and config key is documented"
