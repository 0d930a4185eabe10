#!/usr/bin/env bash
# ThreadSanitizer over the tests tagged [concurrent], in build-tsan/: the tests whose code runs
# our threads (the worker pool, the session, monitor, notifier and metrics threads, the SSH
# agent client's I/O thread) or races helper processes (SQLite snapshots, the remote agent).
# tests/CMakeLists.txt registers only those in a TSan build; docs/reliability.md lists them.
# Usage: scripts/sanitize-thread.sh [extra ctest arguments]
set -euo pipefail
exec "$(dirname "$0")/sanitize.sh" thread "$@"
