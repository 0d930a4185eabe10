#!/usr/bin/env bash
# The built-in example: installs the dependencies, builds, then mirrors a generated tree
# live and shows that the mirror follows every change.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target fsmirror
bin="$PWD/build/fsmirror"
work=$(mktemp -d /tmp/fsmirror-example.XXXXXX)
source="$work/storage_do_1"
target="$work/storage_do_2"
mkdir -p "$source/app/config" "$source/volumes/db"
for i in $(seq 1 50); do echo "record $i" > "$source/volumes/db/part-$i.dat"; done
echo "listen: 8080" > "$source/app/config/server.yml"
ln -s config/server.yml "$source/app/current.yml"

echo "== fsmirror run --source $source --target $target --delay 0.5"
"$bin" run --source "$source" --target "$target" --delay 0.5 2>"$work/fsmirror.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q "initial sync finished" "$work/fsmirror.log" && break
  sleep 0.1
done

echo "== changing the source: a new file, an append, a rename, a delete, a chmod"
echo "hello" > "$source/app/new.txt"
echo "record 51" >> "$source/volumes/db/part-1.dat"
mv "$source/volumes/db" "$source/volumes/database"
rm "$source/app/config/server.yml"
chmod 600 "$source/app/new.txt"
sleep 2

kill -TERM $daemon
wait $daemon || true
trap - EXIT
cat "$work/fsmirror.log"
echo "== comparing source and target (content, modes, times, links)"
# The target's root holds fsmirror's marker, .fsmirror, which is not part of the mirror.
if diff -r --no-dereference --exclude=.fsmirror "$source" "$target" &&
   [ "$(cd "$source" && find . -printf '%p %m %T@ %l\n' | sort)" = \
     "$(cd "$target" && find . -path ./.fsmirror -prune -o -printf '%p %m %T@ %l\n' | sort)" ]; then
  echo "identical: the mirror at $target matches $source"
else
  echo "DIFFERENT: see above" >&2
  exit 1
fi
