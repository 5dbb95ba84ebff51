"""The values the ledger hands out: a file's row, a job for a worker, and the retry back-off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from watcher.daemon.settle import Snapshot

LedgerStatus = Literal["pending", "published", "refused", "skipped", "failed"]


@dataclass(frozen=True)
class Row:
    relative: str
    snapshot: Snapshot
    content_hash: str | None
    status: LedgerStatus
    attempts: int
    last_error: str | None
    output: str | None
    profile_hash: str | None
    next_attempt: float


@dataclass(frozen=True)
class Job:
    """A file to process: the identity it had when queued, checked again before it is read."""

    watch: str
    relative: str
    snapshot: Snapshot
    previous_output: str | None
    name: str | None = None  # the output stem kept for this file (random and date names stay stable)
    arrival: float = 0.0  # when the daemon first saw it (wall clock), for delayed publishing
    # It failed before: it goes on its own, so a file that crashes its worker process cannot keep failing
    # the files it would be batched with.
    retry: bool = False


@dataclass(frozen=True)
class Finished:
    """A worker's outcome for a job, as the ledger stores it."""

    job: Job
    status: LedgerStatus
    content_hash: str | None = None
    output: str | None = None
    error: str | None = None
    profile_hash: str | None = None
    name: str | None = None


def row_from(values: tuple[object, ...]) -> Row:
    relative, size, mtime_ns, inode, content_hash, status, attempts, error, output, profile_hash, due = values
    return Row(
        str(relative),
        Snapshot(int(size), int(mtime_ns), int(inode)),  # type: ignore[call-overload]
        None if content_hash is None else str(content_hash),
        status,  # type: ignore[arg-type]
        int(attempts),  # type: ignore[call-overload]
        None if error is None else str(error),
        None if output is None else str(output),
        None if profile_hash is None else str(profile_hash),
        float(due),  # type: ignore[arg-type]
    )


def retry_delay(attempts: int, base_seconds: float) -> float:
    """Exponential back-off for failed files, capped at six hours."""
    return float(min(base_seconds * 2 ** max(attempts - 1, 0), 6 * 3600))
