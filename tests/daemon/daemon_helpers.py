"""Helpers shared by the daemon tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

from PIL import Image

import watcher.pipeline  # noqa: F401  (imported first: the pipeline and the log import each other)
from watcher.daemon.service import Daemon
from watcher.pipeline import FileRecord, process_file
from watcher.pipeline.publish import is_temp_name
from watcher.privacy.zones import Zone
from watcher.rules.config import Config
from watcher.rules.profile import Profile

REPO = Path(__file__).resolve().parents[2]


def jpeg_bytes(seed: int, size: int = 16) -> bytes:
    """A small, valid JPEG whose pixels depend on ``seed``."""
    buffer = io.BytesIO()
    color = (seed % 251, (seed // 251) % 251, 120)
    Image.new("RGB", (size, size), color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def png_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (12, 12), (seed % 256, 40, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Wait for real file-system work (watchdog, workers) to show a result; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def published_files(destination: Path) -> list[str]:
    if not destination.exists():
        return []
    return sorted(p.relative_to(destination).as_posix() for p in destination.rglob("*") if p.is_file())


def copies(destination: Path) -> list[str]:
    """Published files, without the temp files of a publish in progress."""
    return [name for name in published_files(destination) if not is_temp_name(Path(name).name)]


def removal_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class OffsetClock:
    """The real monotonic clock plus a jump the test controls (to fire timers without waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


class OffsetWallClock:
    """``time.time`` plus a jump the test controls (to reach a delayed release without waiting)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@contextmanager
def running(config: Config, *, timeout: float = 30.0, **options: Any) -> Iterator[Daemon]:
    """A daemon running in a thread; stopped and joined on exit (``timeout`` for start and for stop)."""
    daemon = Daemon(config, **options)
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(daemon.run()), name="test-daemon")
    thread.start()
    try:
        assert daemon.ready.wait(timeout), "the daemon did not become ready"
        yield daemon
    finally:
        daemon.request_stop()
        thread.join(timeout)
        assert not thread.is_alive(), "the daemon did not stop"
    assert result == [0], "the daemon stopped with an error"


def crash_on_poison(
    source: Path,
    relative: PurePath,
    destination: Path,
    profile: Profile,
    *,
    name: str | None = None,
    zones: Mapping[str, Zone] | None = None,
    stage: bool = False,
) -> FileRecord:
    """``process_file``, except that a file named ``poison*`` kills the worker process running it, as a
    crash in a codec would (module level, so a worker process can be handed it by reference)."""
    if source.name.startswith("poison"):
        os._exit(70)
    return process_file(source, relative, destination, profile, name=name, zones=zones, stage=stage)
