"""The reconciler thread: runs requested reconcile passes one after another, beside the main loop."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath

from watcher.daemon.ledger import Ledger
from watcher.daemon.reconcile import ReconcileReport, reconcile
from watcher.daemon.watches import Watch
from watcher.log import get_logger

Request = tuple[str, PurePosixPath | None]  # (watch, folder or None for the whole tree)

log = get_logger()


class Reconciler:
    def __init__(
        self,
        watches: Callable[[], Mapping[str, Watch]],
        ledger: Ledger,
        wall_clock: Callable[[], float],
        wake: Callable[[], None],
    ) -> None:
        self._wake = wake
        self._watches = watches
        self._ledger = ledger
        self._wall_clock = wall_clock
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.reports: list[ReconcileReport] = []

    def request(self, watch: str, under: PurePosixPath | None = None) -> None:
        with self._lock:
            if (watch, None) not in self._requests and (watch, under) not in self._requests:
                self._requests.append((watch, under))

    def busy(self) -> bool:
        with self._lock:
            return bool(self._requests) or (self._thread is not None and self._thread.is_alive())

    def poll(self) -> None:
        """Start the thread when there is work and it is not running (called from the main loop)."""
        with self._lock:
            if not self._requests or self._stop.is_set():
                return
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="sharesafe-reconcile", daemon=True)
            self._thread.start()

    def _next(self) -> Request | None:
        with self._lock:
            return self._requests.pop(0) if self._requests else None

    def _run(self) -> None:
        while not self._stop.is_set():
            request = self._next()
            if request is None:
                return
            watch = self._watches().get(request[0])
            if watch is None:
                continue
            try:
                report = reconcile(
                    watch,
                    self._ledger,
                    self._wall_clock,
                    under=request[1],
                    stop=self._stop,
                    queued_some=self._wake,
                )
            except Exception:  # one broken pass must not end the thread silently, nor the daemon
                error = traceback.format_exc(limit=-3)
                log.error("worker_crashed", worker="reconcile", watch=watch.name, error=error)
                continue
            with self._lock:
                self.reports = [*self.reports[-50:], report]
            self._wake()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=30)
