"""The settle queue: a file is handed on only once it has stopped changing and is structurally complete.

File-system events are hints, never proof that a file is done. Each event for a path pushes its deadline
``settle_seconds`` ahead. When the deadline passes, the file must show the same (size, mtime_ns, inode) as
at the previous look and be structurally complete (``is_complete``); otherwise it waits another round.
A file that keeps changing past ``max_wait_seconds`` is reported and retried after a longer pause.
The clock is injectable so the logic is tested without sleeping.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watcher.log import get_logger

Clock = Callable[[], float]
Key = tuple[str, str]  # (watch name, relative POSIX path)

log = get_logger()


@dataclass(frozen=True)
class Snapshot:
    """What two looks at a file must agree on for it to count as unchanged."""

    size: int
    mtime_ns: int
    inode: int


def snapshot_of(path: Path) -> Snapshot | None:
    """The file's identity now, or None when it is gone or not a regular file (symlinks are not followed)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return Snapshot(info.st_size, info.st_mtime_ns, info.st_ino)


@dataclass
class _Entry:
    path: Path
    deadline: float
    first_seen: float
    snapshot: Snapshot | None
    stable_since: float


@dataclass(frozen=True)
class Settled:
    """A file that stood still for a whole settle period and is complete."""

    key: Key
    path: Path
    snapshot: Snapshot


class SettleQueue:
    """Per-path deadlines. Not thread-safe: one thread (the daemon's main loop) owns it."""

    def __init__(
        self,
        *,
        clock: Clock = time.monotonic,
        max_wait_seconds: float = 600.0,
        incomplete_grace_seconds: float = 60.0,
        is_complete: Callable[[Path], bool] | None = None,
    ) -> None:
        if is_complete is None:
            from watcher.pipeline.detect import is_complete as detect_complete

            is_complete = detect_complete
        self._clock = clock
        self._max_wait = max_wait_seconds
        self._incomplete_grace = incomplete_grace_seconds
        self._is_complete = is_complete
        self._entries: dict[Key, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Key) -> bool:
        return key in self._entries

    def note(self, key: Key, path: Path, settle_seconds: float) -> None:
        """An event touched ``path``: (re)start its settle period."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(path, now + settle_seconds, now, snapshot_of(path), now)
        else:
            entry.path = path
            entry.deadline = now + settle_seconds
            entry.snapshot = snapshot_of(path)
            entry.stable_since = now

    def forget(self, key: Key) -> None:
        self._entries.pop(key, None)

    def next_deadline(self) -> float | None:
        """The earliest deadline (clock time), or None when nothing waits."""
        return min((entry.deadline for entry in self._entries.values()), default=None)

    def pop_settled(self, settle_seconds: Callable[[str], float]) -> list[Settled]:
        """Take every file whose deadline passed and which is unchanged and complete.

        ``settle_seconds(watch)`` gives the settle period of a watch, for files that must wait again.
        """
        now = self._clock()
        settled: list[Settled] = []
        for key, entry in list(self._entries.items()):
            if entry.deadline > now:
                continue
            current = snapshot_of(entry.path)
            if current is None:
                # Vanished (renamed away, deleted): its new name, if any, has its own event.
                del self._entries[key]
            elif current == entry.snapshot and self._finished(entry, now):
                del self._entries[key]
                settled.append(Settled(key, entry.path, current))
            else:
                self._wait_again(key, entry, current, now, settle_seconds(key[0]))
        return settled

    def _finished(self, entry: _Entry, now: float) -> bool:
        # A file that stays unchanged but never looks complete is handed on after a grace period: the
        # pipeline refuses it as truncated, and a later change brings it back.
        return self._is_complete(entry.path) or now - entry.stable_since >= self._incomplete_grace

    def _wait_again(self, key: Key, entry: _Entry, current: Snapshot, now: float, settle: float) -> None:
        if current != entry.snapshot:
            entry.stable_since = now
        entry.snapshot = current
        entry.deadline = now + settle
        if now - entry.first_seen > self._max_wait:
            log.warning(
                "file_changed_while_settling",
                watch=key[0],
                path=key[1],
                waited_seconds=round(now - entry.first_seen),
            )
            # Keep watching, but look less often: a file written for that long is a live log or a stuck copy.
            entry.first_seen = now
            entry.deadline = now + self._max_wait
