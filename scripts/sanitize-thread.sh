#!/usr/bin/env bash
# ThreadSanitizer over the engine's concurrent parts, in build-tsan/: the unit tests (the worker
# pool, batches run on it, the SSH agent client's I/O thread against a fake peer) and the
# integration tests whose daemons run the session, worker and agent-client threads for real.
# Usage: scripts/sanitize-thread.sh [extra ctest arguments]
set -euo pipefail
exec "$(dirname "$0")/sanitize.sh" thread "$@"
