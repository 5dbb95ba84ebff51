"""The running daemon's pid file, so `sharesafe release` can wake it (SIGUSR1) instead of waiting for its
next look at the ledger."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PID_NAME = "sharesafe.pid"
# A pid file left by a crash may name a process that reused the pid: only signal one that looks like us.
_OUR_NAMES = (b"sharesafe", b"watcher")


def write_pid_file(state_dir: Path) -> Path:
    """Write this process's pid to ``state_dir`` (owner-only), replacing a stale file."""
    path = state_dir / PID_NAME
    temporary = state_dir / f".{PID_NAME}.{os.getpid()}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as stream:
        stream.write(f"{os.getpid()}\n")
    temporary.replace(path)
    return path


def remove_pid_file(state_dir: Path) -> None:
    """Remove the pid file if it is this process's (a second daemon must not remove the first one's)."""
    path = state_dir / PID_NAME
    if read_pid(path) == os.getpid():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def running_daemon(state_dir: Path) -> int | None:
    """The pid of the daemon using ``state_dir``, or None when none runs (no file, or a stale one)."""
    pid = read_pid(state_dir / PID_NAME)
    if pid is None:
        return None
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None  # no such process (or no /proc to tell: do not risk signalling a stranger)
    return pid if any(name in command_line for name in _OUR_NAMES) else None


def wake_daemon(state_dir: Path) -> bool:
    """Ask the running daemon to look at its ledger now; False when no daemon runs."""
    pid = running_daemon(state_dir)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        return False
    return True
