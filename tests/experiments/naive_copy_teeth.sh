#!/usr/bin/env bash
# The "teeth" experiment for the SQLite integration tests (docs/sqlite.md): the check those
# tests make of every copy on the target - it opens, PRAGMA integrity_check says ok - run
# against copies made while a writer commits, once with plain file copies (what lsyncd + rsync
# or `cp` do) and once with fsmirror's snapshot helper. The plain copies must be able to fail
# it, or the tests would prove nothing. Not part of the test suite: it is a measurement, and
# the plain copies fail only some of the time.
#
#   tests/experiments/naive_copy_teeth.sh [BUILD_DIR] [ROUNDS] [JOURNAL]
#
# BUILD_DIR defaults to ./build (fsmirror and tests/fsmirror_test_sqlite_writer must be built),
# ROUNDS to 40, JOURNAL (the writer's journal mode) to wal. Needs the sqlite3 command.
set -euo pipefail

build=${1:-build}
rounds=${2:-40}
journal=${3:-wal}
fsmirror=$(realpath "$build/fsmirror")
writer=$(realpath "$build/tests/fsmirror_test_sqlite_writer")
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 command (apt-get install sqlite3)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/fsmirror-teeth-XXXXXX")
writer_pid=
cleanup() {
  [ -n "$writer_pid" ] && kill "$writer_pid" 2>/dev/null && wait "$writer_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/live"

# As fast as it can: the more the writer does while a copy runs, the likelier a torn copy.
"$writer" --database "$work/live/app.db" --journal "$journal" --rate 0 --autocheckpoint 20 \
  >"$work/writer.log" 2>&1 &
writer_pid=$!
until grep -q ready "$work/writer.log"; do sleep 0.05; done
sleep 1 # let the database grow past its first pages

# Prints "ok" or what went wrong with the copy in directory $1 (a reader opening it normally:
# it applies a -wal or rolls back a -journal found beside the database, as a mirror's reader
# would).
check() {
  local result
  result=$(sqlite3 "$1/app.db" "PRAGMA integrity_check; SELECT 'counter ' || n FROM counter;" 2>&1 | tr '\n' ' ') || true
  case "$result" in
    "ok counter "*) echo ok ;;
    *) echo "$result" | cut -c1-120 ;;
  esac
}

declare -A failures=()
declare -A example=()
methods=("cp-db" "cp-db-then-companions" "fsmirror-sqlite-snapshot")
for method in "${methods[@]}"; do failures[$method]=0; done

for round in $(seq 1 "$rounds"); do
  for method in "${methods[@]}"; do
    copy="$work/copy-$method-$round"
    mkdir "$copy"
    case "$method" in
      cp-db)
        cp "$work/live/app.db" "$copy/app.db" ;;
      cp-db-then-companions)
        cp "$work/live/app.db" "$copy/app.db"
        for suffix in -wal -journal; do
          [ -e "$work/live/app.db$suffix" ] && cp "$work/live/app.db$suffix" "$copy/app.db$suffix" 2>/dev/null || true
        done ;;
      fsmirror-sqlite-snapshot)
        (cd "$work/live" && "$fsmirror" sqlite-snapshot --database app.db --output "$copy/app.db") ;;
    esac
    verdict=$(check "$copy")
    if [ "$verdict" != ok ]; then
      failures[$method]=$((failures[$method] + 1))
      example[$method]=$verdict
    fi
    rm -rf "$copy"
  done
done

kill "$writer_pid"; wait "$writer_pid" 2>/dev/null || true; writer_pid=
echo "SQLite $(sqlite3 --version | cut -d' ' -f1), journal_mode=$journal, $rounds copies per method while the writer commits"
echo "writer: $(tail -1 "$work/writer.log") transactions"
printf '| %-26s | %-10s | %s\n' "method" "failed" "example"
for method in "${methods[@]}"; do
  printf '| %-26s | %3d / %-4d | %s\n' "$method" "${failures[$method]}" "$rounds" "${example[$method]:-}"
done
