"""watchdog set-up per watch: inotify where it works, polling on network mounts or when inotify runs out.

Events are only hints; they are reduced to a small frozen ``Hint`` and put on a bounded queue. When the
queue is full the hint is dropped and the watch is flagged for a rescan, so a flood of events costs a
reconcile pass, never unbounded memory.
"""

from __future__ import annotations

import errno
import queue
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.api import BaseObserver
from watchdog.observers.inotify import InotifyObserver
from watchdog.observers.polling import PollingObserver

from watcher.daemon.mounts import filesystem_type, is_network_filesystem
from watcher.log import get_logger
from watcher.rules.config import WatchConfig

HintKind = Literal["file_changed", "file_gone", "folder_arrived", "folder_gone"]
ObserverMode = Literal["inotify", "polling"]
DEFAULT_NETWORK_POLL_SECONDS = 10.0
_EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]

log = get_logger()


@dataclass(frozen=True)
class Hint:
    watch: str
    kind: HintKind
    path: str


def _text(path: bytes | str) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


def hints_for(watch: str, event: FileSystemEvent) -> list[Hint]:
    """The hints one watchdog event gives: a move is a departure plus an arrival."""
    source = _text(event.src_path)
    if event.event_type == "moved":
        target = _text(event.dest_path)
        if event.is_directory:
            return [Hint(watch, "folder_gone", source), Hint(watch, "folder_arrived", target)]
        return [Hint(watch, "file_gone", source), Hint(watch, "file_changed", target)]
    if event.event_type == "deleted":
        return [Hint(watch, "folder_gone" if event.is_directory else "file_gone", source)]
    if event.is_directory:
        return [Hint(watch, "folder_arrived", source)] if event.event_type == "created" else []
    if event.event_type in ("created", "modified", "closed"):
        return [Hint(watch, "file_changed", source)]
    return []


class HintSink(FileSystemEventHandler):
    """Turns watchdog events into hints on a bounded queue; never blocks the observer thread."""

    def __init__(self, watch: str, hints: queue.Queue[Hint], overflowed: Callable[[str], None]) -> None:
        super().__init__()
        self._watch = watch
        self._hints = hints
        self._overflowed = overflowed

    def on_any_event(self, event: FileSystemEvent) -> None:
        for hint in hints_for(self._watch, event):
            try:
                self._hints.put_nowait(hint)
            except queue.Full:
                self._overflowed(self._watch)
                return


@dataclass
class RunningObserver:
    watch: str
    observer: BaseObserver
    mode: ObserverMode

    def is_alive(self) -> bool:
        return self.observer.is_alive()

    def stop(self) -> None:
        self.observer.stop()
        if self.observer.is_alive() or self.observer.ident is not None:
            self.observer.join(timeout=10)


def _poll_interval(watch: WatchConfig) -> float | None:
    """Seconds between polls, or None for inotify."""
    if isinstance(watch.poll, float | int) and not isinstance(watch.poll, bool):
        return float(watch.poll)
    if watch.poll == "auto" and is_network_filesystem(watch.source):
        return DEFAULT_NETWORK_POLL_SECONDS
    return None


def _start(observer: BaseObserver, watch: WatchConfig, sink: HintSink) -> None:
    observer.schedule(sink, str(watch.source), recursive=watch.recursive, event_filter=_EVENT_FILTER)
    observer.start()


def start_observer(watch: WatchConfig, sink: HintSink) -> RunningObserver:
    """Start watching ``watch.source``. Falls back to polling when inotify hits a kernel limit."""
    interval = _poll_interval(watch)
    if interval is not None:
        reason = "configured"
        if watch.poll == "auto":
            reason = f"network file system {filesystem_type(watch.source)}"
        return _start_polling(watch, sink, interval, reason)
    observer = InotifyObserver()
    try:
        _start(observer, watch, sink)
    except OSError as error:
        observer.stop()
        if observer.ident is not None:
            observer.join(timeout=10)
        if error.errno not in (errno.ENOSPC, errno.EMFILE):
            raise
        reason = f"{error.strerror}: raise fs.inotify.max_user_watches / max_user_instances to use inotify"
        return _start_polling(watch, sink, DEFAULT_NETWORK_POLL_SECONDS, reason)
    log.info("watch_started", watch=watch.name, source=str(watch.source), mode="inotify")
    return RunningObserver(watch.name, observer, "inotify")


def _start_polling(watch: WatchConfig, sink: HintSink, interval: float, reason: str) -> RunningObserver:
    observer = PollingObserver(timeout=interval)
    _start(observer, watch, sink)
    log.info(
        "watch_polling", watch=watch.name, source=str(watch.source), every_seconds=interval, reason=reason
    )
    return RunningObserver(watch.name, observer, "polling")
