"""sd_notify over a real datagram socket, by path and in the abstract namespace."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watcher.daemon.notify import Notifier


def receive(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_messages_reach_a_socket_in_the_abstract_namespace() -> None:
    name = f"sharesafe-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        notifier = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert notifier.ready("2 watches")
        assert receive(sock) == "READY=1\nSTATUS=2 watches"
        assert notifier.reloading()
        message = receive(sock)
        assert message.startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert int(message.rsplit("=", 1)[1]) > 0


def test_messages_reach_a_socket_by_path_and_values_stay_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        notifier = Notifier({"NOTIFY_SOCKET": str(path)})
        assert notifier.status("line one\nWATCHDOG=1")
        assert receive(sock) == "STATUS=line one WATCHDOG=1"
        assert notifier.stopping()
        assert receive(sock) == "STOPPING=1"


def test_watchdog_interval_is_half_the_timeout_and_only_for_this_process() -> None:
    assert Notifier({"WATCHDOG_USEC": "20000000"}).watchdog_interval == 10.0
    mine = Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_interval == 10.0
    assert Notifier({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({}).watchdog_interval is None


def test_without_systemd_nothing_is_sent() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert not notifier.watchdog()


def test_the_daemon_reports_ready_status_watchdog_and_reloads(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Callable[..., Any]
) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        notifier = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "200000"})
        with start_daemon(write_config(), notifier=notifier) as daemon:
            messages = [receive(sock) for _ in range(3)]
            assert messages[0].startswith("READY=1\nSTATUS=1 watches; 0 published")
            assert "WATCHDOG=1" in messages[1:]
            daemon.request_reload()
            following = [receive(sock) for _ in range(12)]
        assert any(message.startswith("RELOADING=1\nMONOTONIC_USEC=") for message in following)
        reloading = next(i for i, m in enumerate(following) if m.startswith("RELOADING=1"))
        assert any(message.startswith("READY=1") for message in following[reloading:])
