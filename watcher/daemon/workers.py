"""Workers: a bounded pool of threads that run queued files through the pipeline and record the outcome.

No worker can die silently: every exception is logged and the pool restarts threads that stopped.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path, PurePath, PurePosixPath
from typing import Protocol

from watcher.daemon.ledger import Job, Ledger
from watcher.daemon.reconcile import forget_source
from watcher.daemon.release import output_stem, release_at, stem_of
from watcher.daemon.settle import snapshot_of
from watcher.daemon.watches import Watch
from watcher.errors import PublishError, SourceError
from watcher.log import RemovalLogWriter, get_logger
from watcher.pipeline import FileRecord, process_file
from watcher.privacy.zones import Zone
from watcher.rules.profile import Profile


class Processor(Protocol):
    """``process_file``'s shape (or a stand-in running it elsewhere, such as a worker process)."""

    def __call__(
        self,
        source: Path,
        relative: PurePath,
        destination: Path,
        profile: Profile,
        *,
        name: str | None = None,
        zones: Mapping[str, Zone] | None = None,
    ) -> FileRecord: ...


Key = tuple[str, str]
# A file that stays unchanged but structurally incomplete this long is processed anyway: the pipeline
# refuses a truncated file, and a later change retries it.
INCOMPLETE_GRACE_SECONDS = 60.0

log = get_logger()


class JobRunner:
    """Processes one ledger job: re-check the file, sanitize it, record the outcome."""

    def __init__(
        self,
        watches: Callable[[], Mapping[str, Watch]],
        ledger: Ledger,
        removal_log: RemovalLogWriter,
        *,
        wall_clock: Callable[[], float] = time.time,
        processor: Processor = process_file,
        is_complete: Callable[[Path], bool] | None = None,
    ) -> None:
        if is_complete is None:
            from watcher.pipeline.detect import is_complete as detect_complete

            is_complete = detect_complete
        self._watches = watches
        self._ledger = ledger
        self._removal_log = removal_log
        self._wall_clock = wall_clock
        self._processor = processor
        self._is_complete = is_complete
        self._held_reported: set[Key] = set()

    def __call__(self, job: Job) -> None:
        try:
            self._run(job)
        except Exception:
            # A bug: record it so the file backs off instead of spinning, and keep the worker alive.
            error = traceback.format_exc(limit=-3)
            log.error("worker_crashed", watch=job.watch, source=job.relative, error=error)
            self._ledger.record_outcome(
                job, "failed", now=self._wall_clock(), error="internal error (see the log)"
            )

    def _run(self, job: Job) -> None:
        watch = self._watches().get(job.watch)
        if watch is None:
            return  # the watch was removed by a reload; its rows wait in case it comes back
        source = watch.source_path(job.relative)
        if not self._settled(watch, job, source) or self._held(watch, job, source):
            return
        profile = watch.config.profile
        try:
            watch.check_destination()
            stem = output_stem(job, profile, self._ledger)
            relative = PurePosixPath(job.relative)
            record = self._processor(
                source, relative, watch.destination, profile, name=stem, zones=watch.zones
            )
        except (SourceError, PublishError) as error:
            self._ledger.record_outcome(job, "failed", now=self._wall_clock(), error=str(error))
            log.warning("file_failed", watch=watch.name, source=job.relative, reason=str(error))
            return
        self._record(watch, job, replace(record, watch=watch.name))

    def _held(self, watch: Watch, job: Job, source: Path) -> bool:
        """A delayed profile: not yet time for this copy to appear (it waits in the ledger, held), unless a
        person released it early with `sharesafe release`."""
        if watch.config.profile.delay is None or self._ledger.is_released(job.watch, job.relative):
            return False
        release = release_at(source, watch.config.profile, job.arrival)
        if release is None or release <= self._wall_clock():
            return False
        self._ledger.hold(job.watch, job.relative, job.snapshot, release)
        log.info("file_held", watch=watch.name, source=job.relative, reason="delay", until=round(release))
        return True

    def _settled(self, watch: Watch, job: Job, source: Path) -> bool:
        """The file still has the identity it was queued with and looks finished; otherwise look later."""
        now = self._wall_clock()
        current = snapshot_of(source)
        if current is None:
            outcome = forget_source(watch, self._ledger, job.relative)
            if outcome == "source_missing":
                self._ledger.defer(job.watch, job.relative, job.snapshot, now + 60)  # share unmounted?
            elif outcome == "kept" and self._ledger.get(job.watch, job.relative) is not None:
                # Still there, but unreadable or no longer a regular file (a symlink, a folder).
                error = "the source is not a readable regular file"
                self._ledger.record_outcome(job, "failed", now=now, error=error)
            return False
        settle = watch.config.settle_seconds
        quiet_for = now - current.mtime_ns / 1e9
        # A modification time in the future (clock skew on a NAS) cannot say anything: rely on the stats.
        recent = 0 <= quiet_for < settle
        # Long unchanged: the structural check (it reads the tail of the file) cannot change the outcome.
        complete = quiet_for >= max(INCOMPLETE_GRACE_SECONDS, settle) or self._is_complete(source)
        if current != job.snapshot or recent or not complete:
            if (
                current == job.snapshot
                and not recent
                and (job.watch, job.relative) not in self._held_reported
            ):
                self._held_reported.add((job.watch, job.relative))  # once, not on every look
                log.info("file_held", watch=watch.name, source=job.relative, reason="structurally incomplete")
            self._ledger.defer(job.watch, job.relative, current, now + max(settle, 0.05))
            return False
        self._held_reported.discard((job.watch, job.relative))
        return True

    def _record(self, watch: Watch, job: Job, record: FileRecord) -> None:
        self._removal_log.write(record)
        now = self._wall_clock()
        if record.status == "published":
            self._remove_replaced_output(watch, job.previous_output, record.output)
            self._ledger.record_outcome(
                job,
                "published",
                now=now,
                sha256=record.source_sha256,
                output=record.output,
                profile_hash=watch.profile_hash,
                name=stem_of(record.output, watch.config.profile),
            )
            log.info("file_published", watch=watch.name, source=job.relative, output=record.output)
        else:
            self._ledger.record_outcome(
                job, record.status, now=now, sha256=record.source_sha256, error=record.reason
            )
            event = "file_refused" if record.status == "refused" else "file_skipped"
            log.info(event, watch=watch.name, source=job.relative, reason=record.reason)

    @staticmethod
    def _remove_replaced_output(watch: Watch, previous: str | None, current: str | None) -> None:
        # A new profile can change the output name (HEIC kept vs. converted): drop the copy it replaces.
        old = watch.output_path(previous)
        if old is not None and current is not None and old != Path(current):
            with contextlib.suppress(FileNotFoundError):
                old.unlink()


class WorkerPool:
    """``count`` threads fed through a queue of at most ``queue_size`` jobs."""

    def __init__(self, runner: Callable[[Job], None], count: int, queue_size: int | None = None) -> None:
        self._runner = runner
        self._count = max(1, count)
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size or self._count * 2)
        self._busy: set[Key] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    def start(self) -> None:
        self._threads = [self._spawn(index) for index in range(self._count)]

    def _spawn(self, index: int) -> threading.Thread:
        thread = threading.Thread(target=self._work, name=f"sharesafe-worker-{index}", daemon=True)
        thread.start()
        return thread

    def restart_dead(self) -> int:
        """Replace threads that ended (they should not); returns how many were replaced."""
        replaced = 0
        for index, thread in enumerate(self._threads):
            if not thread.is_alive() and not self._stopping.is_set():
                log.error("worker_crashed", worker=thread.name, action="restarted")
                self._threads[index] = self._spawn(index)
                replaced += 1
        return replaced

    def busy(self) -> frozenset[Key]:
        """Keys queued or running."""
        with self._lock:
            return frozenset(self._busy)

    def running_low(self) -> bool:
        """At most half the slots taken, counting the caller's job (still running) as done."""
        with self._lock:
            return len(self._busy) - 1 <= (self._queue.maxsize + self._count) // 2

    def free_slots(self) -> int:
        with self._lock:
            return max(0, self._queue.maxsize + self._count - len(self._busy))

    def submit(self, job: Job) -> bool:
        key = (job.watch, job.relative)
        with self._lock:
            if key in self._busy or self._stopping.is_set():
                return False
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                return False
            self._busy.add(key)
        return True

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if not self._stopping.is_set():
                    self._runner(job)
            except Exception:  # a bug in one file's handling must not stop the others
                log.error("worker_crashed", source=job.relative, error=traceback.format_exc(limit=-3))
            finally:
                with self._lock:
                    self._busy.discard((job.watch, job.relative))

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the files being processed, drop the queued ones (they stay pending in the ledger)."""
        self._stopping.set()
        with contextlib.suppress(queue.Empty):
            while True:
                job = self._queue.get_nowait()
                if job is not None:
                    with self._lock:
                        self._busy.discard((job.watch, job.relative))
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
