"""Catch-up progress: periodic log lines, systemd STATUS and the terminal bar's callback (fake clock)."""

from __future__ import annotations

from pathlib import Path

import structlog
from daemon_helpers import FakeClock

from watcher.daemon.ledger import Ledger
from watcher.daemon.notify import Notifier
from watcher.daemon.settle import Snapshot
from watcher.daemon.status import REPORT_EVERY_SECONDS, Progress, ProgressReporter


def test_a_catch_up_reports_progress_until_it_is_done(tmp_path: Path) -> None:
    ledger = Ledger.open(tmp_path / "state")
    clock = FakeClock()
    seen: list[Progress] = []
    reporter = ProgressReporter(ledger, lambda: {}, Notifier({}), clock, seen.append)
    for index in range(10):
        ledger.mark_pending("w", f"{index}.jpg", Snapshot(1, 1, index), now=0)
    jobs = ledger.due(now=1, limit=10, watches=["w"])
    with structlog.testing.capture_logs() as logs:
        reporter.maybe_report(pending_settle=0)  # not yet time
        clock.advance(REPORT_EVERY_SECONDS)
        reporter.maybe_report(pending_settle=0)
        for job in jobs[:6]:
            ledger.record_outcome(job, "published", now=2)
        clock.advance(REPORT_EVERY_SECONDS)
        reporter.maybe_report(pending_settle=3)
        for job in jobs[6:]:
            ledger.record_outcome(job, "published", now=3)
        clock.advance(REPORT_EVERY_SECONDS)
        reporter.maybe_report(pending_settle=0)
        clock.advance(REPORT_EVERY_SECONDS)
        reporter.maybe_report(pending_settle=0)  # idle: nothing more to say
    ledger.close()
    assert seen == [Progress(0, 10), Progress(6, 10), Progress(10, 10, finished=True)]
    assert [entry["done"] for entry in logs if entry["event"] == "backlog_progress"] == [0, 6, 10]
