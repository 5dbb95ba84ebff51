"""Batches: during a backlog a worker takes the queued files together, sanitizes them in one call, syncs
each output folder once and records the batch with one ledger commit, while every file keeps its own
outcome, removal-log record and log line.

Real files through the real pipeline; a fake wall clock makes retries due without waiting.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePath
from typing import Any

import pytest
import structlog
from daemon_helpers import (
    FakeClock,
    copies,
    crash_on_poison,
    jpeg_bytes,
    removal_records,
    wait_until,
)

from watcher.daemon import batches
from watcher.daemon.batches import BatchRunner, Failed, Item, run_batch
from watcher.daemon.ledger import Job, Ledger
from watcher.daemon.pool import WorkerPool
from watcher.daemon.processes import ProcessRunner
from watcher.daemon.settle import Snapshot, snapshot_of
from watcher.daemon.watches import Watch, build_watches
from watcher.daemon.workers import JobRunner
from watcher.errors import PublishError
from watcher.log import RemovalLogWriter
from watcher.pipeline import FileRecord, process_file
from watcher.rules.config import load_config
from watcher.rules.profile import STRICT

PLAIN = replace(STRICT, name="plain", names="keep")
LONG_AGO = 1_700_000_000  # a modification time that counts as settled at once


@dataclass
class Rig:
    """One watch (``inbox`` -> ``share``) with its ledger and removal log, outside a running daemon."""

    inbox: Path
    share: Path
    removal_log: Path
    watches: Mapping[str, Watch]
    ledger: Ledger
    writer: RemovalLogWriter
    clock: FakeClock

    def add(self, relative: str, data: bytes | None = None) -> None:
        path = self.inbox / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(jpeg_bytes(len(relative)) if data is None else data)
        os.utime(path, (LONG_AGO, LONG_AGO))

    def queue(self, *relatives: str) -> list[Job]:
        """Queue the files (added first unless they are there) in the ledger; returns them as the feeder
        would hand them out."""
        for relative in relatives:
            if not (self.inbox / relative).exists():
                self.add(relative)
            snapshot = snapshot_of(self.inbox / relative)
            assert snapshot is not None
            self.ledger.mark_pending("inbox", relative, snapshot, self.clock.now)
        return self.ledger.due(self.clock.now, len(relatives), ["inbox"])

    def runner(self, batch_runner: BatchRunner | None = None) -> JobRunner:
        return JobRunner(
            lambda: self.watches, self.ledger, self.writer, wall_clock=self.clock, runner=batch_runner
        )

    def statuses(self) -> dict[str, tuple[str, int, str | None]]:
        rows = self.ledger.rows_for("inbox", sorted(_relatives(self.inbox)))
        return {relative: (row.status, row.attempts, row.last_error) for relative, row in rows.items()}


def _relatives(root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()]


@pytest.fixture
def rig(tmp_path: Path, write_config: Callable[..., Path]) -> Iterator[Rig]:
    config = load_config(write_config())
    ledger = Ledger.open(config.state_dir, retry_base_seconds=10)
    writer = RemovalLogWriter(config.removal_log)
    (tmp_path / "share").mkdir()
    yield Rig(
        tmp_path / "inbox",
        tmp_path / "share",
        config.removal_log,
        build_watches(config),
        ledger,
        writer,
        FakeClock(start=LONG_AGO + 86_400),
    )
    writer.close()
    ledger.close()


def test_a_worker_takes_what_is_queued_in_batches_and_never_waits_for_a_batch_to_fill() -> None:
    taken: list[list[str]] = []
    pool = WorkerPool(
        lambda jobs: taken.append([job.relative for job in jobs]),
        1,
        batch_size=4,
        batch_bytes=1000,
        queue_size=20,
    )
    names = [f"{index}.jpg" for index in range(10)]
    sizes = dict.fromkeys(names, 100) | {"6.jpg": 900}
    assert all(pool.submit(Job("w", name, Snapshot(sizes[name], 1, 1), None)) for name in names)
    assert pool.free_slots() == 20 + 4 - 10
    pool.start()
    try:
        wait_until(lambda: not pool.busy(), what="the backlog")
        # 4 files a batch, and no more once a batch holds 1,000 bytes
        assert taken == [names[0:4], names[4:7], names[7:10]]
        assert pool.submit(Job("w", "alone.jpg", Snapshot(100, 1, 1), None))
        wait_until(lambda: not pool.busy(), what="the single file")
        assert taken[-1] == ["alone.jpg"]
    finally:
        pool.stop()


def test_a_batch_is_recorded_with_one_ledger_commit_and_a_record_and_event_per_file(rig: Rig) -> None:
    jobs = rig.queue("a.jpg", "b.jpg", "2024/c.jpg")
    statements: list[str] = []
    rig.ledger._db.set_trace_callback(statements.append)
    try:
        with structlog.testing.capture_logs() as logs:
            rig.runner()(jobs)
    finally:
        rig.ledger._db.set_trace_callback(None)
    assert statements.count("COMMIT") == 1
    assert rig.statuses() == dict.fromkeys(("a.jpg", "b.jpg", "2024/c.jpg"), ("published", 0, None))
    assert copies(rig.share) == ["2024/c.jpg", "a.jpg", "b.jpg"]
    records = removal_records(rig.removal_log)
    assert sorted(Path(r["source"]).relative_to(rig.inbox).as_posix() for r in records) == sorted(
        ["a.jpg", "b.jpg", "2024/c.jpg"]
    )
    assert {record["watch"] for record in records} == {"inbox"}
    published = [entry["source"] for entry in logs if entry["event"] == "file_published"]
    assert sorted(published) == ["2024/c.jpg", "a.jpg", "b.jpg"]


def test_a_file_that_fails_in_a_batch_fails_alone(rig: Rig) -> None:
    (rig.share / "blocked").write_bytes(b"a file where the output folder should be")
    rig.add("junk.jpg", b"not a photo at all" * 8)
    jobs = rig.queue("a.jpg", "blocked/b.jpg", "junk.jpg", "c.jpg")
    with structlog.testing.capture_logs() as logs:
        rig.runner()(jobs)
    statuses = rig.statuses()
    assert statuses["a.jpg"] == statuses["c.jpg"] == ("published", 0, None)
    status, attempts, error = statuses["blocked/b.jpg"]
    assert (status, attempts) == ("failed", 1)
    assert error is not None and "a file stands where the destination needs a folder" in error
    assert statuses["junk.jpg"][0] == "refused"
    assert copies(rig.share) == ["a.jpg", "blocked", "c.jpg"]
    recorded = sorted(Path(r["source"]).name for r in removal_records(rig.removal_log))
    assert recorded == ["a.jpg", "c.jpg", "junk.jpg"]  # the failed file is retried, not yet recorded
    assert [entry["source"] for entry in logs if entry["event"] == "file_failed"] == ["blocked/b.jpg"]


def test_a_batch_syncs_each_output_folder_once_after_its_files_and_fails_those_it_cannot_sync(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps: list[Any] = []

    def processor(*args: Any, **kwargs: Any) -> FileRecord:
        steps.append(("publish", Path(args[1]).as_posix(), kwargs["stage"]))
        return process_file(*args, **kwargs)

    def sync(folders: set[Path]) -> None:
        steps.append(("sync", *sorted(folder.relative_to(rig.share).as_posix() for folder in folders)))
        if rig.share / "unsyncable" in folders:
            raise PublishError("cannot sync the folder: an I/O error")

    monkeypatch.setattr(batches, "sync_folders", sync)
    names = ["a.jpg", "2024/b.jpg", "unsyncable/c.jpg", "2024/d.jpg"]
    for name in names:
        rig.add(name)
    items = [Item(rig.inbox / name, PurePath(name), rig.share, PLAIN, None, {}) for name in names]
    outcomes = run_batch(items, processor)
    assert steps[:4] == [("publish", name, True) for name in names]
    assert sorted(steps[4:]) == [("sync", "."), ("sync", "2024"), ("sync", "unsyncable")]
    assert [isinstance(outcome, FileRecord) and outcome.status for outcome in outcomes] == [
        "published",
        "published",
        False,
        "published",
    ]
    assert outcomes[2] == Failed("cannot sync the folder: an I/O error")


def test_a_crashed_worker_process_fails_its_batch_and_each_file_is_retried_on_its_own(rig: Rig) -> None:
    jobs = rig.queue("a.jpg", "poison.jpg", "b.jpg")
    processes = ProcessRunner(1, processor=crash_on_poison)
    batch_sizes: list[int] = []

    def counting(items: Sequence[Item]) -> list[batches.Outcome]:
        batch_sizes.append(len(items))
        return processes(items)

    runner = rig.runner(counting)
    try:
        with structlog.testing.capture_logs() as logs:
            runner(jobs)
        assert batch_sizes == [3]
        assert {status for status, _, _ in rig.statuses().values()} == {"failed"}
        assert removal_records(rig.removal_log) == []  # copies made before the crash are not recorded
        crashed = [entry["source"] for entry in logs if entry["event"] == "worker_crashed"]
        assert sorted(crashed) == ["a.jpg", "b.jpg", "poison.jpg"]
        assert rig.ledger.due(rig.clock.now, 10, ["inbox"]) == []  # backing off
        rig.clock.advance(10)
        retries = rig.ledger.due(rig.clock.now, 10, ["inbox"])
        assert sorted(job.relative for job in retries) == ["a.jpg", "b.jpg", "poison.jpg"]
        assert all(job.retry for job in retries)
        runner(retries)
    finally:
        processes.shutdown()
    assert batch_sizes[1:] == [1, 1, 1]
    statuses = rig.statuses()
    assert statuses["a.jpg"] == statuses["b.jpg"] == ("published", 0, None)
    assert statuses["poison.jpg"][:2] == ("failed", 2)
    assert copies(rig.share) == ["a.jpg", "b.jpg"]
    assert sorted(Path(r["source"]).name for r in removal_records(rig.removal_log)) == ["a.jpg", "b.jpg"]
