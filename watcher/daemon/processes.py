"""Sanitizing in worker processes: the pipeline is mostly Python, so threads alone would share one core.

Worker threads keep the bookkeeping (ledger, logs); each hands its batch of files to a process pool in one
call and waits. A crash inside a codec then costs one process and the batches in it, never the daemon. The
processes ignore SIGINT and SIGTERM (systemd and a terminal send them to the whole group): the daemon
decides when they stop, after the files in progress are finished, so no half-written temp file is left
behind. If the daemon itself is killed (``kill -9``), each process finishes its current file and exits
rather than lingering: the rest of its batch was never recorded, so it is done again after the restart.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from watcher.daemon.batches import Item, Outcome, Processor, commit_batch, stage_batch
from watcher.formats.registry import handler_named
from watcher.pipeline import process_file
from watcher.pipeline.allocator import tune_allocator
from watcher.pipeline.batch import prepare_fork
from watcher.pipeline.publish import sync_pool

_PARENT_CHECK_SECONDS = 1.0
_busy = threading.Lock()  # held while a worker process sanitizes a file


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        threading.Event().wait(_PARENT_CHECK_SECONDS)
    with _busy:  # let the file in progress finish: its output is complete, only its record is lost
        os._exit(0)


def _start_worker(parent: int) -> None:
    tune_allocator()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _stage_batch_in_worker(items: Sequence[Item], processor: Processor) -> list[Outcome]:
    # ``_busy`` is held for each file, so an orphaned worker exits between two files, never inside one.
    return stage_batch(items, processor, each=_busy)


# The handlers a worker loads before its first file: photos are mostly JPEG, and the first batch of a
# backlog should not wait for that import (it runs while the daemon itself is still starting).
WARM_HANDLERS = ("jpeg",)


def _started() -> None:
    """Submitted once per worker at start-up: loads the common handlers, so the first files do not wait
    for the imports."""
    for name in WARM_HANDLERS:
        handler_named(name)


class ProcessRunner:
    """A ``BatchRunner`` that runs each batch in one of ``workers`` processes, started on first use.

    ``processor`` must be picklable by reference (a module-level function): it is named in every call.
    """

    def __init__(self, workers: int, processor: Processor = process_file) -> None:
        self._workers = max(1, workers)
        self._processor = processor
        self._executor: ProcessPoolExecutor | None = None
        self._warmed = False
        self._syncer: ThreadPoolExecutor | None = None  # fsyncs the staged files of every batch
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                # fork is fastest (no second import of the pipeline) but only safe while this process
                # runs no other thread, as at start-up; later (a pool replaced after a crash) spawn.
                method = "fork" if threading.active_count() == 1 else "spawn"
                if method == "fork":
                    prepare_fork()
                self._executor = ProcessPoolExecutor(
                    self._workers,
                    mp_context=multiprocessing.get_context(method),
                    initializer=_start_worker,
                    initargs=(os.getpid(),),
                )
            return self._executor

    def __call__(self, items: Sequence[Item]) -> list[Outcome]:
        pool = self._pool()
        try:
            staged = pool.submit(_stage_batch_in_worker, items, self._processor).result()
        except BrokenProcessPool:
            # A worker process died (a codec crashed, the kernel's OOM killer...): start afresh next time;
            # the caller records the batch's files as failed, to be retried with back-off.
            with self._lock:
                if self._executor is pool:
                    self._executor = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        # Committed here, in the daemon's thread: the process is already sanitizing its next batch.
        return commit_batch(staged, self._sync_threads())

    def _sync_threads(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._syncer is None:
                self._syncer = sync_pool()
            return self._syncer

    def warm_up(self) -> None:
        """Start the worker processes now (before the daemon starts its threads, so they can be forked) and
        let them load the common handlers; once is enough."""
        if self._warmed:
            return
        self._warmed = True
        pool = self._pool()
        for _ in range(self._workers):
            pool.submit(_started)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            syncer, self._syncer = self._syncer, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        if syncer is not None:
            syncer.shutdown(wait=True)
