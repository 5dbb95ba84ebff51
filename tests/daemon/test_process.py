"""The daemon as a process: `sharesafe run` stops cleanly on SIGTERM, and survives `kill -9` at random
points of a backlog with every file published exactly once and no temp file left in the destination."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from daemon_helpers import REPO, jpeg_bytes, published_files, removal_records, wait_until
from PIL import Image

from watcher import cli_daemon
from watcher import log as log_module
from watcher.daemon import processes, service
from watcher.daemon.service import BATCH_SIZE
from watcher.pipeline.publish import is_temp_name
from watcher.rules import config as config_module

FILES = 300


def launch(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "-c", str(config)],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def fill_inbox(inbox: Path, count: int) -> list[str]:
    names = [f"{index % 7}/IMG_{index:04d}.jpg" for index in range(count)]
    for index, name in enumerate(names):
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(jpeg_bytes(index, size=24))
    # Old enough to count as settled at once, as files that arrived while the daemon was down are.
    for name in names:
        os.utime(inbox / name, (1_700_000_000, 1_700_000_000))
    return sorted(names)


def copies(share: Path) -> list[str]:
    return [name for name in published_files(share) if not is_temp_name(Path(name).name)]


def temp_files(share: Path) -> list[str]:
    return [name for name in published_files(share) if is_temp_name(Path(name).name)]


def published_rows(state: Path) -> int:
    with sqlite3.connect(state / "ledger.sqlite3") as db:
        return int(db.execute("SELECT COUNT(*) FROM files WHERE status='published'").fetchone()[0])


def stop(process: subprocess.Popen[bytes], signal_number: int = signal.SIGTERM) -> int:
    process.send_signal(signal_number)
    return process.wait(timeout=20)


def logged_events(log: Path) -> list[str]:
    return [json.loads(line)["event"] for line in log.read_text().splitlines() if line.startswith("{")]


@pytest.mark.parametrize(("signal_number", "exit_code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_stop_signal_finishes_the_files_in_flight_and_exits(
    tmp_path: Path, write_config: Callable[..., Path], signal_number: int, exit_code: int
) -> None:
    share, state = tmp_path / "share", tmp_path / "state"
    names = fill_inbox(tmp_path / "inbox", FILES)
    process = launch(write_config(), tmp_path / "daemon.log")
    try:
        wait_until(lambda: len(copies(share)) >= 30, what="the backlog to start")
    finally:
        code = stop(process, signal_number)
    assert code == exit_code
    assert temp_files(share) == []
    done = copies(share)
    assert 30 <= len(done) <= len(names)
    assert published_rows(state) == len(done)  # every copy written was also recorded before exiting
    assert logged_events(tmp_path / "daemon.log")[-1] == "daemon_stopped"


def test_sighup_keeps_the_running_config_when_the_new_one_is_invalid(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config, log = write_config(), tmp_path / "daemon.log"
    process = launch(config, log)
    try:
        wait_until(lambda: "daemon_started" in logged_events(log), what="the start")
        config.write_text("watches: [{source: 12, colour: red}]\n", encoding="utf-8")
        process.send_signal(signal.SIGHUP)
        wait_until(lambda: "config_rejected" in logged_events(log), what="the rejection")
        (tmp_path / "inbox" / "after.jpg").write_bytes(jpeg_bytes(1))
        wait_until(lambda: copies(tmp_path / "share") == ["after.jpg"], what="the old config at work")
    finally:
        assert stop(process) == 0


def _catches(process: subprocess.Popen[bytes], signal_number: int) -> bool:
    """Whether the process has its own handler for the signal yet (the SigCgt mask of /proc/PID/status)."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal_number - 1) & 1)
    return False


@pytest.mark.parametrize("profile", ["plain", "strict"])  # names kept; random names (strict)
def test_kill_9_at_random_points_still_publishes_every_file_exactly_once(
    tmp_path: Path, write_config: Callable[..., Path], profile: str
) -> None:
    inbox, share, state = tmp_path / "inbox", tmp_path / "share", tmp_path / "state"
    names = fill_inbox(inbox, FILES)
    watch = {"name": "inbox", "source": str(inbox), "destination": str(share), "profile": profile}
    config = write_config([watch])
    log = tmp_path / "daemon.log"
    chooser = random.Random(20240501)
    kill_points = sorted(chooser.sample(range(1, FILES - 20), 4))
    for point in [0, *kill_points]:
        process = launch(config, log)
        try:
            wait_until(lambda point=point: len(copies(share)) >= point, timeout=60, what=f"{point} copies")
        finally:
            process.kill()
            process.wait(timeout=20)
    process = launch(config, log)
    try:
        wait_until(
            lambda: published_rows(state) == FILES and not temp_files(share), timeout=90, what="the end"
        )
        # All may have been done before this start: stop it once it can stop cleanly (a SIGTERM before
        # the interpreter has even loaded the command ends any process by the signal's default action).
        wait_until(lambda: _catches(process, signal.SIGTERM), what="the stop handler")
    finally:
        assert stop(process) == 0
    assert temp_files(share) == []
    outputs = ledger_outputs(state)
    assert sorted(outputs) == names
    assert sorted(Path(output).relative_to(share).as_posix() for output in outputs.values()) == copies(share)
    if profile == "plain":
        assert copies(share) == names
    for output in outputs.values():
        with Image.open(output) as image:
            image.load()  # complete, decodable
    records = [r for r in removal_records(state / "removed.jsonl") if r["status"] == "published"]
    for record in records:  # a file redone after a kill went to the same output, never to a second one
        assert record["output"] == outputs[Path(record["source"]).relative_to(inbox).as_posix()]
    # A file is recorded twice only if a kill came between its batch's removal-log records and the batch's
    # ledger commit (one moment per batch): at most a batch per kill.
    assert len(records) - FILES <= BATCH_SIZE * (len(kill_points) + 1)


def ledger_outputs(state: Path) -> dict[str, str]:
    with sqlite3.connect(state / "ledger.sqlite3") as db:
        return dict(db.execute("SELECT relative, output FROM files WHERE status='published'").fetchall())


class _FakeDaemon:
    """Stands in for the daemon in ``_cmd_run``: records what the signal handlers asked of it."""

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        self.asked: list[str] = []

    def request_stop(self, *, interrupted: bool = False) -> None:
        self.asked.append("stop (interrupted)" if interrupted else "stop")

    def request_reload(self) -> None:
        self.asked.append("reload")

    def wake(self) -> None:
        self.asked.append("wake")

    def run(self) -> int:
        return 0 if self.asked == ["stop"] else 1


class _FakeProcesses:
    def __init__(self, _workers: int) -> None:
        pass

    def warm_up(self) -> None:
        pass

    def shutdown(self) -> None:
        pass


def test_a_stop_signal_during_start_up_is_kept_for_the_daemon(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd may stop a unit it has just started: the signal must end the daemon cleanly, not kill it
    by the signal's default action before its handlers are in place."""
    config = write_config()
    load_config = config_module.load_config

    def load_and_get_stopped(path: Path) -> object:
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while the daemon is still being set up
        return load_config(path)

    monkeypatch.setattr(config_module, "load_config", load_and_get_stopped)
    monkeypatch.setattr(log_module, "configure_logging", lambda **_: None)  # the session's logging stays
    monkeypatch.setattr(processes, "ProcessRunner", _FakeProcesses)
    monkeypatch.setattr(service, "Daemon", _FakeDaemon)
    saved = {number: signal.getsignal(number) for number in cli_daemon._DAEMON_SIGNALS}
    try:
        code = cli_daemon._cmd_run(argparse.Namespace(config=str(config), log_level="info"))
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
    assert code == 0  # the fake daemon saw exactly one stop request, after it existed
