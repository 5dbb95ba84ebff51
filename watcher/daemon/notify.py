"""sd_notify in plain Python: datagrams to $NOTIFY_SOCKET (an '@' name is in the abstract namespace)."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Mapping


class Notifier:
    """Tells systemd about readiness, status, reloads and liveness. Does nothing outside systemd."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self._address: str | bytes | None = None
        if address.startswith("@"):
            self._address = b"\0" + address[1:].encode()
        elif address.startswith("/"):
            self._address = address
        self._watchdog_seconds: float | None = None
        watchdog_usec = env.get("WATCHDOG_USEC", "")
        watchdog_pid = env.get("WATCHDOG_PID", "")
        if watchdog_usec.isdigit() and int(watchdog_usec) > 0 and watchdog_pid in ("", str(os.getpid())):
            self._watchdog_seconds = int(watchdog_usec) / 1e6

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval(self) -> float | None:
        """How often to send WATCHDOG=1 (half the timeout systemd set), or None when it set none."""
        return None if self._watchdog_seconds is None else self._watchdog_seconds / 2

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=value`` lines; returns False when there is no socket or the send failed."""
        if self._address is None:
            return False
        # A newline inside a value would start a new assignment: keep each value on its line.
        message = "\n".join(f"{key}={str(value).replace(chr(10), ' ')}" for key, value in fields.items())
        return self._send(message.encode())

    def _send(self, message: bytes) -> bool:
        if self._address is None:
            return False
        with (
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock,
            contextlib.suppress(OSError),
        ):
            sock.sendto(message, self._address)
            return True
        return False

    def ready(self, status: str) -> bool:
        return self.send(READY=1, STATUS=status)

    def status(self, status: str) -> bool:
        return self.send(STATUS=status)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG=1)

    def reloading(self) -> bool:
        # systemd >= 253 checks MONOTONIC_USEC to tell this reload from an older one.
        return self.send(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def stopping(self) -> bool:
        return self.send(STOPPING=1)
