"""The ledger: one SQLite row per watched file, so each file is published exactly once across restarts.

A row is keyed by (watch, relative path) and remembers the file's identity when it was last looked at
(size, mtime_ns, inode), the hash of the bytes that were sanitized, the outcome, and the profile
fingerprint the output was made with. ``pending`` and due ``failed`` rows are the work queue, so the backlog
lives on disk rather than in memory and survives a crash.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from watcher.daemon.holds import Holds, add_held_column
from watcher.daemon.mounts import filesystem_type, is_network_filesystem
from watcher.daemon.outcomes import Outcomes
from watcher.daemon.rows import Finished, Job, LedgerStatus, Row, retry_delay, row_from
from watcher.daemon.settle import Snapshot
from watcher.errors import ConfigError

__all__ = ["LEDGER_NAME", "Finished", "Job", "Ledger", "LedgerStatus", "Row", "retry_delay"]

LEDGER_NAME = "ledger.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    watch TEXT NOT NULL,
    relative TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    content_hash TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    output TEXT,
    profile_hash TEXT,
    name TEXT,
    arrival REAL NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    updated REAL NOT NULL DEFAULT 0,
    held_until REAL,
    PRIMARY KEY (watch, relative)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_due ON files (status, next_attempt);
"""
_ROW_COLUMNS = ", ".join(
    [
        *("relative", "size", "mtime_ns", "inode", "content_hash", "status"),
        *("attempts", "last_error", "output", "profile_hash", "next_attempt"),
    ]
)
_STATUS_OR_HELD = "CASE WHEN status='pending' AND held_until > 0 THEN 'held' ELSE status END"


def _name_content_hash_column(database: sqlite3.Connection) -> None:
    """Ledgers written before the content hash became XXH3 name its column after sha256; its old values
    stay (nothing compares them with new ones)."""
    columns = {str(row[1]) for row in database.execute("PRAGMA table_info(files)")}
    if "sha256" in columns:
        database.execute("ALTER TABLE files RENAME COLUMN sha256 TO content_hash")


def _job(row: tuple[Any, ...], status: str) -> Job:
    """A row of ``Ledger._waiting_rows`` (watch, relative, size, mtime_ns, inode, output, name, arrival,
    next_attempt) as a job."""
    watch, relative, size, mtime_ns, inode, output, name, arrival, _due = row
    snapshot = Snapshot(size, mtime_ns, inode)
    return Job(watch, relative, snapshot, output, name, float(arrival), status == "failed")


class Ledger(Holds, Outcomes):
    """Thread-safe access to the ledger database (one connection, one lock: writes are small and quick)."""

    def __init__(self, path: Path, *, retry_base_seconds: float = 60.0) -> None:
        self.path = path
        self.retry_base_seconds = retry_base_seconds
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only power loss can drop the last commits,
        # which costs a re-publish of the same output, never a half-written one.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        add_held_column(self._db)
        _name_content_hash_column(self._db)

    @classmethod
    def open(cls, state_dir: Path, *, retry_base_seconds: float = 60.0) -> Ledger:
        """Open (creating) the ledger in ``state_dir``, which must be on a local file system."""
        if is_network_filesystem(state_dir):
            raise ConfigError(
                f"state_dir {state_dir} is on a network file system ({filesystem_type(state_dir)}); "
                "SQLite cannot lock reliably there: put the state dir on a local disk"
            )
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(state_dir / LEDGER_NAME, retry_base_seconds=retry_base_seconds)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        # The connection is in autocommit mode (one commit per write); this groups many writes into one.
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, watch: str, relative: str) -> Row | None:
        with self._lock:
            found = self._db.execute(
                f"SELECT {_ROW_COLUMNS} FROM files WHERE watch=? AND relative=?",  # noqa: S608  constant columns
                (watch, relative),
            ).fetchone()
        return None if found is None else row_from(found)

    def rows_for(self, watch: str, relatives: list[str]) -> dict[str, Row]:
        """The rows of ``relatives`` that exist (batched lookups keep reconcile memory flat)."""
        found: dict[str, Row] = {}
        with self._lock:
            for start in range(0, len(relatives), 500):
                chunk = relatives[start : start + 500]
                marks = ",".join("?" * len(chunk))
                # Only constant column names and "?" marks are formatted in; the values are bound.
                query = f"SELECT {_ROW_COLUMNS} FROM files WHERE watch=? AND relative IN ({marks})"  # noqa: S608
                for values in self._db.execute(query, (watch, *chunk)):
                    row = row_from(values)
                    found[row.relative] = row
        return found

    def iter_outputs(self, watch: str) -> Iterator[tuple[str, str | None]]:
        """(relative, output) of every row of ``watch``, read in one go so callers may write meanwhile."""
        with self._lock:
            rows = self._db.execute("SELECT relative, output FROM files WHERE watch=?", (watch,)).fetchall()
        for relative, output in rows:
            yield str(relative), output

    def mark_pending(self, watch: str, relative: str, snapshot: Snapshot, now: float) -> None:
        """Queue a file for processing with the identity it has now (attempts restart when it changed)."""
        self.mark_many_pending(watch, [(relative, snapshot)], now)

    def mark_many_pending(self, watch: str, files: list[tuple[str, Snapshot]], now: float) -> None:
        """``mark_pending`` for many files in one transaction (a reconcile pass queues thousands)."""
        values = [(watch, relative, s.size, s.mtime_ns, s.inode, now, now, now) for relative, s in files]
        with self._lock, self._transaction():
            self._db.executemany(
                """INSERT INTO files
                    (watch, relative, size, mtime_ns, inode, status, next_attempt, updated, arrival)
                VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
                ON CONFLICT (watch, relative) DO UPDATE SET
                    attempts = CASE WHEN size=excluded.size AND mtime_ns=excluded.mtime_ns
                        AND inode=excluded.inode THEN attempts ELSE 0 END,
                    held_until = CASE WHEN size=excluded.size AND mtime_ns=excluded.mtime_ns
                        AND inode=excluded.inode THEN held_until ELSE NULL END,
                    size=excluded.size, mtime_ns=excluded.mtime_ns, inode=excluded.inode,
                    status='pending', next_attempt=excluded.next_attempt, updated=excluded.updated""",
                values,
            )

    def defer(self, watch: str, relative: str, snapshot: Snapshot, until: float) -> None:
        """The file changed since it was queued: remember its new identity and look again later (a new
        version is held afresh, so its hold resets)."""
        with self._lock:
            self._db.execute(
                """UPDATE files SET
                    held_until = CASE WHEN size=:size AND mtime_ns=:mtime_ns AND inode=:inode
                        THEN held_until ELSE NULL END,
                    size=:size, mtime_ns=:mtime_ns, inode=:inode, next_attempt=:until
                WHERE watch=:watch AND relative=:relative""",
                {
                    "size": snapshot.size,
                    "mtime_ns": snapshot.mtime_ns,
                    "inode": snapshot.inode,
                    "until": until,
                    "watch": watch,
                    "relative": relative,
                },
            )

    def due(
        self, now: float, limit: int, watches: Collection[str], exclude: Collection[tuple[str, str]] = ()
    ) -> list[Job]:
        """Up to ``limit`` pending, then failed, files of ``watches`` whose time has come, minus ``exclude``."""
        jobs: list[Job] = []
        for status in ("pending", "failed"):
            # During a backlog ``exclude`` (the files in the workers' hands) is most of what the query
            # returns: skip those before building anything from their rows.
            rows = self._waiting_rows(status, watches, limit - len(jobs) + len(exclude), now)
            fresh = [row for row in rows if (row[0], row[1]) not in exclude][: limit - len(jobs)]
            jobs += [_job(row, status) for row in fresh]
            if len(jobs) >= limit:
                break
        return jobs

    def next_due(self, watches: Collection[str], exclude: Collection[tuple[str, str]] = ()) -> float | None:
        """When the earliest pending or failed file of ``watches`` not in ``exclude`` becomes due
        (wall-clock seconds); None when there is none."""
        times = [
            float(row[-1])
            for status in ("pending", "failed")
            for row in self._waiting_rows(status, watches, len(exclude) + 1)
            if (row[0], row[1]) not in exclude
        ]
        return min(times, default=None)

    def _waiting_rows(
        self, status: str, watches: Collection[str], limit: int, now: float | None = None
    ) -> list[tuple[Any, ...]]:
        # One status per query so the (status, next_attempt) index gives the order: no sort of a large
        # backlog on every call.
        names = sorted(watches)
        marks = ",".join("?" * len(names))
        # Only "?" marks are formatted in; every value is bound.
        columns = "watch, relative, size, mtime_ns, inode, output, name, arrival, next_attempt"
        where = f"status=? AND watch IN ({marks}) AND next_attempt <= ?"
        query = f"SELECT {columns} FROM files WHERE {where} ORDER BY next_attempt LIMIT ?"  # noqa: S608
        with self._lock:
            found = self._db.execute(query, (status, *names, float("inf") if now is None else now, limit))
            return found.fetchall()

    def keep_names(self, watch: str, names: Sequence[tuple[str, str]]) -> None:
        """Remember the output stems of files before they are published, so a retry reuses them: (relative,
        stem) pairs of a batch, in one transaction."""
        if not names:
            return
        with self._lock, self._transaction():
            self._db.executemany(
                "UPDATE files SET name=? WHERE watch=? AND relative=?",
                [(name, watch, relative) for relative, name in names],
            )

    def relatives_under(self, watch: str, folder: str) -> list[str]:
        """Rows of ``watch`` inside the folder ``folder`` (relative, no trailing slash)."""
        prefix = folder.rstrip("/") + "/"
        with self._lock:
            found = self._db.execute(
                # "0" sorts right after "/": the range is exactly the paths that start with the prefix.
                "SELECT relative FROM files WHERE watch=? AND relative >= ? AND relative < ?",
                (watch, prefix, prefix[:-1] + "0"),
            ).fetchall()
        return [str(relative) for (relative,) in found]

    def remove(self, watch: str, relative: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM files WHERE watch=? AND relative=?", (watch, relative))

    def count(self, watch: str) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM files WHERE watch=?", (watch,)).fetchone()[0])

    def counts(self, watch: str) -> dict[str, int]:
        """Rows of ``watch`` per status (every status present, zero when none); held files count as
        ``held``, not ``pending``."""
        totals = dict.fromkeys(("pending", "held", "published", "refused", "skipped", "failed"), 0)
        with self._lock:
            for status, number in self._db.execute(
                f"SELECT {_STATUS_OR_HELD}, COUNT(*) FROM files WHERE watch=? GROUP BY 1",  # noqa: S608
                (watch,),
            ):
                totals[str(status)] = int(number)
        return totals

    def backlog(self) -> int:
        """Files waiting for a worker, over every watch (held files wait for their time, not a worker)."""
        with self._lock:
            found = self._db.execute(
                "SELECT COUNT(*) FROM files WHERE status IN ('pending', 'failed') AND COALESCE(held_until, 0) <= 0"
            )
            return int(found.fetchone()[0])

    def last_errors(self, watch: str, limit: int = 5) -> list[tuple[str, str, str]]:
        """(relative, status, error) of the most recent refused or failed files of ``watch``."""
        with self._lock:
            found = self._db.execute(
                """SELECT relative, status, last_error FROM files
                WHERE watch=? AND status IN ('refused', 'failed') AND last_error IS NOT NULL
                ORDER BY updated DESC LIMIT ?""",
                (watch, limit),
            ).fetchall()
        return [(str(r), str(s), str(e)) for r, s, e in found]
