"""The worker pool: a bounded number of threads fed through a queue of jobs.

During a backlog each thread takes the jobs already queued, up to a batch, and hands them on together; a
job that arrives alone goes at once, in a batch of one. No thread can die silently: every exception is
logged and the pool restarts threads that stopped.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable

from watcher.daemon.ledger import Job
from watcher.log import get_logger

Key = tuple[str, str]

log = get_logger()


class WorkerPool:
    """``count`` threads fed through a queue; each takes up to ``batch_size`` queued jobs at a time, and
    stops adding once they reach ``batch_bytes``: a batch of videos stays short, so a stop (which lets the
    batches in progress finish) stays quick.

    ``on_low`` is called when a batch ends with at most half the slots taken (queued or running), so the
    feeder hands out more files once per batch of files rather than once per file.
    """

    def __init__(
        self,
        runner: Callable[[list[Job]], None],
        count: int,
        *,
        batch_size: int = 1,
        batch_bytes: int | None = None,
        queue_size: int | None = None,
        on_low: Callable[[], None] | None = None,
    ) -> None:
        self._runner = runner
        self._count = max(1, count)
        self._batch_size = max(1, batch_size)
        self._batch_bytes = batch_bytes
        # By default one more batch per thread waits queued, so a thread that finishes finds a full batch.
        self._queue: queue.Queue[Job | None] = queue.Queue(
            maxsize=queue_size or self._count * max(2, self._batch_size)
        )
        self._capacity = self._queue.maxsize + self._count * self._batch_size
        self._on_low = on_low
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

    def free_slots(self) -> int:
        with self._lock:
            return max(0, self._capacity - len(self._busy))

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
        last = False
        while not last:
            first = self._queue.get()
            if first is None:
                return
            jobs, last = self._take_batch(first)
            try:
                if not self._stopping.is_set():
                    self._runner(jobs)
            except Exception:  # a bug in one batch's handling must not stop the others
                error = traceback.format_exc(limit=-3)
                for job in jobs:
                    log.error("worker_crashed", watch=job.watch, source=job.relative, error=error)
            finally:
                with self._lock:
                    self._busy.difference_update((job.watch, job.relative) for job in jobs)
                    low = len(self._busy) <= self._capacity // 2
            if low and self._on_low is not None:
                self._on_low()

    def _take_batch(self, first: Job) -> tuple[list[Job], bool]:
        """``first`` plus the jobs queued right now, up to a batch (never waiting for more); True when the
        stop marker came up meanwhile (this thread ends after the batch)."""
        jobs = [first]
        size = first.snapshot.size
        while len(jobs) < self._batch_size and (self._batch_bytes is None or size < self._batch_bytes):
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            size += job.snapshot.size
        return jobs, False

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
