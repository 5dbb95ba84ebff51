"""Status values: per-watch counts for `sharesafe status`, and catch-up progress while the daemon runs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watcher.daemon.ledger import Ledger
from watcher.daemon.notify import Notifier
from watcher.daemon.watches import Watch
from watcher.log import get_logger

REPORT_EVERY_SECONDS = 5.0

log = get_logger()


@dataclass(frozen=True)
class WatchStatus:
    watch: str
    source: str
    destination: str
    published: int
    refused: int
    skipped: int
    pending: int
    failed: int
    last_errors: tuple[tuple[str, str, str], ...]
    held: tuple[tuple[str, float], ...] = ()  # (relative, release wall time) of held files, soonest first

    @property
    def backlog(self) -> int:
        return self.pending + self.failed

    def as_json(self) -> dict[str, Any]:
        return {
            "watch": self.watch,
            "source": self.source,
            "destination": self.destination,
            "published": self.published,
            "refused": self.refused,
            "skipped": self.skipped,
            "pending": self.pending,
            "failed": self.failed,
            "backlog": self.backlog,
            "held_count": len(self.held),
            "held": [{"source": source, "release": utc_iso(release)} for source, release in self.held],
            "last_errors": [{"source": s, "status": st, "error": e} for s, st, e in self.last_errors],
        }


def watch_status(ledger: Ledger, watch: Watch, error_count: int = 5) -> WatchStatus:
    counts = ledger.counts(watch.name)
    return WatchStatus(
        watch.name,
        str(watch.source),
        str(watch.destination),
        counts["published"],
        counts["refused"],
        counts["skipped"],
        counts["pending"],
        counts["failed"],
        tuple(ledger.last_errors(watch.name, error_count)),
        tuple(ledger.held(watch.name)),
    )


def utc_iso(moment: float) -> str:
    """``2026-11-22T09:14:03Z``: a release time for machines."""
    return datetime.fromtimestamp(round(moment), UTC).isoformat().replace("+00:00", "Z")


def describe_release(moment: float, now: float) -> str:
    """``2026-11-22T10:14:03+01:00 (in 5 h 12 min)``: a release time for people (local time)."""
    local = datetime.fromtimestamp(round(moment)).astimezone().isoformat()
    seconds = moment - now
    if seconds <= 0:
        return f"{local} (due now)"
    minutes = max(1, math.ceil(seconds / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return f"{local} (in {' '.join(part for part in parts if part)})"


@dataclass(frozen=True)
class Progress:
    """A catch-up in progress: ``done`` of ``total`` files handled since the backlog began."""

    done: int
    total: int
    finished: bool = False


class ProgressReporter:
    """Every few seconds while files wait: a log line, systemd STATUS, and the optional progress callback."""

    def __init__(
        self,
        ledger: Ledger,
        watches: Callable[[], Mapping[str, Watch]],
        notifier: Notifier,
        clock: Callable[[], float] = time.monotonic,
        progress: Callable[[Progress], None] | None = None,
    ) -> None:
        self._ledger = ledger
        self._watches = watches
        self._notifier = notifier
        self._clock = clock
        self._progress = progress
        self._peak = 0
        self._done = 0
        self._next = clock() + REPORT_EVERY_SECONDS

    def next_report(self) -> float:
        return self._next

    def summary(self) -> str:
        totals = dict.fromkeys(("published", "refused", "pending", "held", "failed"), 0)
        for name in self._watches():
            for status, number in self._ledger.counts(name).items():
                if status in totals:
                    totals[status] += number
        return (
            f"{len(self._watches())} watches; {totals['published']} published, {totals['refused']} refused, "
            f"{totals['pending']} pending, {totals['held']} held, {totals['failed']} failed"
        )

    def maybe_report(self, pending_settle: int) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + REPORT_EVERY_SECONDS
        backlog = self._ledger.backlog()
        if backlog == 0 and self._peak == 0:
            return
        self._peak = max(self._peak, backlog)
        done = self._done = self._peak - backlog
        finished = backlog == 0
        log.info("backlog_progress", done=done, total=self._peak, settling=pending_settle, finished=finished)
        self._notifier.status(self.summary())
        if self._progress is not None:
            self._progress(Progress(done, self._peak, finished))
        if finished:
            self._peak = 0

    def finish(self) -> None:
        """The daemon stops: close an open progress display (the ledger may be closed already)."""
        if self._progress is not None and self._peak:
            self._progress(Progress(self._done, self._peak, True))
