"""The running observers, one per watch: started when their source exists, restarted when they stop,
and a rescan requested whenever one starts or its events overflowed."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Mapping

from watcher.daemon.observer import Hint, HintSink, RunningObserver, start_observer
from watcher.daemon.watches import Watch
from watcher.log import get_logger

log = get_logger()


class Observers:
    def __init__(self, hints: queue.Queue[Hint], rescan: Callable[[str], None]) -> None:
        self._hints = hints
        self._rescan = rescan
        self._running: dict[str, RunningObserver] = {}
        self._missing: set[str] = set()  # watches whose trouble was already logged once
        self._overflowed: set[str] = set()
        self._lock = threading.Lock()

    def get(self, watch: str) -> RunningObserver | None:
        return self._running.get(watch)

    def modes(self) -> dict[str, str]:
        return {name: running.mode for name, running in self._running.items()}

    def overflowed(self, watch: str) -> None:
        """Called from observer threads when the hint queue is full."""
        with self._lock:
            self._overflowed.add(watch)

    def start(self, watches: Mapping[str, Watch]) -> None:
        """Start an observer for each watch that has none and whose source exists."""
        for watch in watches.values():
            if watch.name in self._running:
                continue
            if not watch.source.is_dir():
                self._complain_once(watch.name, "source_missing", source=str(watch.source), action="waiting")
                continue
            try:
                sink = HintSink(watch.name, self._hints, self.overflowed)
                self._running[watch.name] = start_observer(watch.config, sink)
            except OSError as error:  # permission denied, a stale mount...: keep the other watches going
                self._complain_once(watch.name, "watch_stopped", reason=str(error), action="retrying")
                continue
            self._missing.discard(watch.name)
            # Whatever is in the tree already (a share mounted late, an observer restarted) is caught up.
            self._rescan(watch.name)

    def _complain_once(self, watch: str, event: str, **fields: str) -> None:
        if watch not in self._missing:  # say it once, then look again on every turn
            self._missing.add(watch)
            log.warning(event, watch=watch, **fields)

    def check(self, watches: Mapping[str, Watch]) -> None:
        """Restart observers that stopped and rescan what they or an overflow may have missed."""
        for name, running in list(self._running.items()):
            if not running.is_alive():
                log.error("watch_restarted", watch=name, reason="observer stopped")
                running.stop()
                del self._running[name]
        self.start(watches)
        with self._lock:
            overflowed, self._overflowed = self._overflowed, set()
        for name in overflowed:
            log.warning("watch_restarted", watch=name, reason="event queue overflowed; rescanning")
            self._rescan(name)

    def stop(self) -> None:
        for running in self._running.values():
            running.stop()
            log.info("watch_stopped", watch=running.watch)
        self._running.clear()
