"""Workers' outcomes in the ledger: what became of each file, stored a batch at a time."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Sequence

from watcher.daemon.rows import Finished, Job, LedgerStatus, retry_delay

_RECORD_OUTCOME = """UPDATE files SET
    status = CASE WHEN size=:size AND mtime_ns=:mtime_ns AND inode=:inode THEN :status ELSE 'pending' END,
    attempts = CASE WHEN size=:size AND mtime_ns=:mtime_ns AND inode=:inode THEN :attempts ELSE 0 END,
    next_attempt = CASE WHEN size=:size AND mtime_ns=:mtime_ns AND inode=:inode THEN :due ELSE :now END,
    content_hash=:content_hash, output=COALESCE(:output, output), last_error=:error,
    profile_hash=COALESCE(:profile_hash, profile_hash), name=COALESCE(:name, name),
    held_until = CASE WHEN :status='published' AND size=:size AND mtime_ns=:mtime_ns AND inode=:inode
        THEN NULL ELSE held_until END,
    updated=:now
WHERE watch=:watch AND relative=:relative"""


class Outcomes:
    """The outcome methods of the ledger (mixed into ``Ledger``, which owns the connection, its lock and
    its transactions)."""

    _db: sqlite3.Connection
    _lock: threading.Lock
    _transaction: Callable[[], contextlib.AbstractContextManager[None]]
    retry_base_seconds: float

    def record_outcome(
        self,
        job: Job,
        status: LedgerStatus,
        *,
        now: float,
        content_hash: str | None = None,
        output: str | None = None,
        error: str | None = None,
        profile_hash: str | None = None,
        name: str | None = None,
    ) -> None:
        """Store a worker's outcome for ``job`` (see ``record_outcomes``)."""
        self.record_outcomes(
            [Finished(job, status, content_hash, output, error, profile_hash, name)], now=now
        )

    def record_outcomes(self, outcomes: Sequence[Finished], *, now: float) -> None:
        """Store the outcomes of a batch in one transaction: one commit instead of one per file.

        If a file changed while it was processed (the row's identity moved on), the row stays pending, due
        at once and without a back-off, so the newer version is processed too.
        """
        if not outcomes:
            return
        with self._lock, self._transaction():
            for outcome in outcomes:
                self._db.execute(_RECORD_OUTCOME, self._outcome_values(outcome, now))

    def _outcome_values(self, outcome: Finished, now: float) -> dict[str, object]:
        job = outcome.job
        attempts = self._attempts_after(job) if outcome.status == "failed" else 0
        delay = retry_delay(attempts, self.retry_base_seconds) if attempts else 0.0
        return {
            "size": job.snapshot.size,
            "mtime_ns": job.snapshot.mtime_ns,
            "inode": job.snapshot.inode,
            "status": outcome.status,
            "content_hash": outcome.content_hash,
            "output": outcome.output,
            "error": outcome.error,
            "profile_hash": outcome.profile_hash,
            "name": outcome.name,
            "attempts": attempts,
            "due": now + delay,
            "now": now,
            "watch": job.watch,
            "relative": job.relative,
        }

    def _attempts_after(self, job: Job) -> int:
        found = self._db.execute(
            "SELECT attempts FROM files WHERE watch=? AND relative=?", (job.watch, job.relative)
        ).fetchone()
        return (int(found[0]) if found else 0) + 1
