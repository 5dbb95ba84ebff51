"""The daemon in a thread of the test process, for faults that need a short retry delay or an injected clock,
and small tmpfs mounts for real disk-full, read-only and unmount faults (root only)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import watcher.pipeline  # noqa: F401  (imported first: the pipeline and the log import each other)
from tests.daemon.daemon_helpers import running as daemon_running
from watcher.daemon.service import Daemon
from watcher.pipeline import process_file
from watcher.rules.config import load_config


@contextlib.contextmanager
def running(config_path: Path, **options: Any) -> Iterator[Daemon]:
    """A daemon (sanitizing in its own threads) running until the block ends; stopped and joined."""
    options.setdefault("processor", process_file)
    with daemon_running(load_config(config_path), timeout=60.0, **options) as daemon:
        yield daemon


def settle(daemon: Daemon, timeout: float = 60.0) -> None:
    """Wait until the daemon has nothing settling, queued or running (twice in a row: hints may land)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            raise AssertionError("the daemon did not become idle")
        quiet = quiet + 1 if daemon.idle() else 0
        time.sleep(0.1)


def can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    probe = Path("/proc/self/mountinfo")
    return probe.exists()


def mount(folder: Path, size: str = "1m") -> None:
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)], check=True)


def unmount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def remount(folder: Path, option: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{option}", str(folder)], check=True)


def mount_works(tmp_path: Path) -> bool:
    """Whether this machine lets the tests mount a tmpfs (root in a container may still be refused)."""
    if not can_mount():
        return False
    probe = tmp_path / "mount-probe"
    probe.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True, check=False
    )
    if result.returncode != 0:
        return False
    unmount(probe)
    return True


def fill_up(folder: Path) -> Path:
    """Fill the file system of ``folder`` until it is full; returns the filler file."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for block in (1 << 16, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * block)
    finally:
        os.close(fd)
    return filler
