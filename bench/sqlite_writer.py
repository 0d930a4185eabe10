#!/usr/bin/env python3
"""W7's writer: commits about RATE transactions a second to a WAL-mode SQLite database for
DURATION seconds, holding its connection open the whole time (as an application does).

Each transaction appends one row to `log` (seq, wall-clock commit time, padding) and sets
`counter.n` to the same seq, so a consistent snapshot always has
counter.n == max(log.seq) == count(log); the observer in bench/run checks exactly that.

Usage: sqlite_writer.py DB RATE DURATION. Prints the number of commits on exit."""

import os
import sqlite3
import sys
import time


def main() -> int:
    path, rate, duration = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("CREATE TABLE IF NOT EXISTS log(seq INTEGER PRIMARY KEY, ts REAL, pad BLOB)")
    db.execute("CREATE TABLE IF NOT EXISTS counter(id INTEGER PRIMARY KEY, n INTEGER)")
    db.execute("INSERT OR IGNORE INTO counter VALUES (1, 0)")
    start = time.monotonic()
    seq = 0
    # Paced by the clock, not by sleeping a fixed time after each commit, so the rate holds
    # whatever a commit costs; bounded by DURATION.
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= duration:
            break
        due = int(elapsed * rate)
        if seq >= due:
            time.sleep(min(0.001, duration - elapsed))
            continue
        seq += 1
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO log VALUES (?, ?, ?)", (seq, time.time(), os.urandom(100)))
        db.execute("UPDATE counter SET n = ? WHERE id = 1", (seq,))
        db.execute("COMMIT")
    db.close()
    print(seq)
    return 0


if __name__ == "__main__":
    sys.exit(main())
