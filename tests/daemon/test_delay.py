"""Delayed publishing: a delayed profile holds each file in the ledger until its release time (capture time,
or arrival, plus the delay), across restarts; `sharesafe status` shows held files and `sharesafe release`
publishes them early."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import piexif
import pytest
from daemon_helpers import REPO, OffsetWallClock, copies, jpeg_bytes, wait_until
from PIL import Image

from watcher.cli import main
from watcher.daemon.ledger import Ledger
from watcher.daemon.pidfile import PID_NAME, remove_pid_file, running_daemon, write_pid_file
from watcher.daemon.settle import Snapshot
from watcher.daemon.status import describe_release, utc_iso

Start = Callable[..., Any]
HOUR = 3600.0
A, B = Snapshot(10, 1, 7), Snapshot(20, 2, 7)


def jpeg_taken_at(taken: datetime, seed: int = 1) -> bytes:
    """A small JPEG whose EXIF DateTimeOriginal is ``taken`` (local time, as cameras write it)."""
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S").encode("ascii")
    exif = piexif.dump({"Exif": {piexif.ExifIFD.DateTimeOriginal: stamp}})
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (seed % 251, 60, 90)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def delayed_config(tmp_path: Path, write_config: Callable[..., Path], delay: str = "1h") -> Path:
    watch = {
        "name": "inbox",
        "source": str(tmp_path / "inbox"),
        "destination": str(tmp_path / "share"),
        "settle_seconds": 0.3,
        "profile": "later",
    }
    return write_config([watch], profiles={"later": {"names": "keep", "delay": delay}})


def status_json(config: Path, capsys: Any) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["status", "-c", str(config), "--json"]) == 0
    [watch] = json.loads(capsys.readouterr().out)["watches"]
    return dict(watch)


# -- the daemon --------------------------------------------------------------------------------------------


def test_the_capture_time_sets_the_release_and_status_shows_it(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start, capsys: Any
) -> None:
    config = delayed_config(tmp_path, write_config, delay="2h")
    taken = (datetime.now() - timedelta(hours=1)).replace(microsecond=0)
    wall = OffsetWallClock()
    with start_daemon(config, wall_clock=wall) as daemon:
        (tmp_path / "inbox" / "a.jpg").write_bytes(jpeg_taken_at(taken))
        wait_until(lambda: daemon.ledger.held("inbox") != [], what="the hold")
        [(source, release)] = daemon.ledger.held("inbox")
        assert (source, release) == ("a.jpg", taken.timestamp() + 2 * HOUR)  # not arrival + 2 h
        watch = status_json(config, capsys)
        assert watch["held"] == [{"source": "a.jpg", "release": utc_iso(release)}]
        assert (watch["held_count"], watch["pending"], watch["backlog"]) == (1, 0, 0)
        assert main(["status", "-c", str(config)]) == 0
        text = capsys.readouterr().out
        assert "0 pending, 1 held" in text
        assert 'held "a.jpg" until ' in text
        assert copies(tmp_path / "share") == []
        wall.offset += HOUR + 1
        daemon.wake()
        wait_until(lambda: copies(tmp_path / "share") == ["a.jpg"], what="the release")
    assert status_json(config, capsys)["held"] == []


def test_a_held_file_stays_held_across_a_restart_and_publishes_after_its_time(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    config = delayed_config(tmp_path, write_config)
    wall = OffsetWallClock()
    with start_daemon(config, wall_clock=wall) as daemon:
        (tmp_path / "inbox" / "a.jpg").write_bytes(jpeg_bytes(1))  # no capture time: arrival + 1 h
        wait_until(lambda: daemon.ledger.held("inbox") != [], what="the hold")
        [(_, release)] = daemon.ledger.held("inbox")
        assert wall() + HOUR - 60 < release <= wall() + HOUR
    with start_daemon(config, wall_clock=wall) as daemon:
        daemon.request_reconcile()  # a pass over the source must not publish it or move its release
        wait_until(lambda: not daemon._reconciler.busy(), what="the reconcile pass")
        assert daemon.ledger.held("inbox") == [("a.jpg", release)]
        assert copies(tmp_path / "share") == []
        wall.offset += HOUR
        daemon.wake()
        wait_until(lambda: copies(tmp_path / "share") == ["a.jpg"], what="the release")
        assert daemon.ledger.held("inbox") == []


def test_release_publishes_early_and_a_new_version_is_held_afresh(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start, capsys: Any
) -> None:
    config = delayed_config(tmp_path, write_config)
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    (inbox / "trip").mkdir()
    wall = OffsetWallClock()
    with start_daemon(config, wall_clock=wall) as daemon:
        (inbox / "a.jpg").write_bytes(jpeg_bytes(1))
        (inbox / "trip" / "b.jpg").write_bytes(jpeg_bytes(2))
        wait_until(lambda: len(daemon.ledger.held("inbox")) == 2, what="both holds")
        capsys.readouterr()
        assert main(["release", "-c", str(config), str(inbox / "trip")]) == 0  # a folder: what is under it
        assert capsys.readouterr().out.startswith("released 1 held file")
        daemon.wake()  # what SIGUSR1 does in `sharesafe run`
        wait_until(lambda: copies(share) == ["trip/b.jpg"], what="the folder's release")
        assert [source for source, _ in daemon.ledger.held("inbox")] == ["a.jpg"]
        assert main(["release", "-c", str(config)]) == 0  # no PATH: everything
        daemon.wake()
        wait_until(lambda: copies(share) == ["a.jpg", "trip/b.jpg"], what="the full release")
        first_copy = (share / "a.jpg").read_bytes()
        (inbox / "a.jpg").write_bytes(jpeg_bytes(3, size=24))  # edited: the new version waits its turn
        wait_until(lambda: daemon.ledger.held("inbox") != [], what="the new hold")
        assert [source for source, _ in daemon.ledger.held("inbox")] == ["a.jpg"]
        assert (share / "a.jpg").read_bytes() == first_copy


def test_release_accepts_a_path_relative_to_the_working_directory(
    tmp_path: Path, write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    config = delayed_config(tmp_path, write_config)
    (tmp_path / "inbox" / "a.jpg").write_bytes(jpeg_bytes(1))
    ledger = Ledger.open(tmp_path / "state")
    ledger.mark_pending("inbox", "a.jpg", A, now=100)
    ledger.hold("inbox", "a.jpg", A, until=5000)
    ledger.close()
    monkeypatch.chdir(tmp_path / "inbox")
    assert main(["release", "-c", str(config), "../inbox/./a.jpg"]) == 0
    assert capsys.readouterr().out.startswith("released 1 held file;")
    assert main(["release", "-c", str(config), "a.jpg"]) == 0  # already released: nothing to do
    assert capsys.readouterr().out.strip() == "released 0 held files"


def test_release_of_an_unknown_path_is_a_usage_error(
    tmp_path: Path, write_config: Callable[..., Path], capsys: Any
) -> None:
    config = delayed_config(tmp_path, write_config)
    Ledger.open(tmp_path / "state").close()
    assert main(["release", "-c", str(config), str(tmp_path)]) == 2
    assert "not inside the source folder of any watch" in capsys.readouterr().err
    assert main(["release", "-c", str(config), str(tmp_path / "inbox" / "missing.jpg")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


# -- the ledger --------------------------------------------------------------------------------------------


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    opened = Ledger.open(tmp_path / "state")
    yield opened
    opened.close()


def test_held_files_are_counted_apart_from_pending(ledger: Ledger) -> None:
    ledger.mark_many_pending("w", [("a.jpg", A), ("b.jpg", A)], now=100)
    ledger.hold("w", "a.jpg", A, until=900)
    assert (ledger.counts("w")["pending"], ledger.counts("w")["held"], ledger.backlog()) == (1, 1, 1)
    assert ledger.held("w") == [("a.jpg", 900.0)]
    assert ledger.due(now=899, limit=5, watches=["w"])[0].relative == "b.jpg"
    assert sorted(job.relative for job in ledger.due(now=900, limit=5, watches=["w"])) == ["a.jpg", "b.jpg"]


def test_release_matches_a_file_a_folder_or_the_whole_watch(ledger: Ledger) -> None:
    names = ["a.jpg", "trip/b.jpg", "trip/c/d.jpg", "trip2/e.jpg", "tripx.jpg"]
    ledger.mark_many_pending("w", [(name, A) for name in names], now=100)
    for name in names:
        ledger.hold("w", name, A, until=900)
    assert ledger.release("w", "trip") == 2  # not trip2/ nor tripx.jpg
    assert ledger.is_released("w", "trip/c/d.jpg")
    assert not ledger.is_released("w", "trip2/e.jpg")
    assert ledger.release("w", "a.jpg") == 1
    assert ledger.release("w", None) == 2
    assert ledger.held("w") == []
    assert len(ledger.due(now=0, limit=10, watches=["w"])) == len(names)


def test_a_new_version_or_a_publish_clears_the_release(ledger: Ledger) -> None:
    ledger.mark_pending("w", "a.jpg", A, now=100)
    ledger.hold("w", "a.jpg", A, until=900)
    ledger.release("w", None)
    ledger.mark_pending("w", "a.jpg", A, now=110)  # the same version seen again: still released
    assert ledger.is_released("w", "a.jpg")
    ledger.mark_pending("w", "a.jpg", B, now=120)
    assert not ledger.is_released("w", "a.jpg")
    ledger.hold("w", "a.jpg", B, until=900)
    ledger.release("w", "a.jpg")
    ledger.defer("w", "a.jpg", A, until=130)  # changed again, noticed by a worker
    assert not ledger.is_released("w", "a.jpg")
    ledger.release("w", "a.jpg")
    ledger.hold("w", "a.jpg", A, until=900)
    ledger.release("w", "a.jpg")
    [job] = ledger.due(now=0, limit=1, watches=["w"])
    ledger.record_outcome(job, "published", now=140, output="/share/a.jpg")
    assert not ledger.is_released("w", "a.jpg")


def test_a_ledger_from_before_delayed_publishing_gains_the_column(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    with sqlite3.connect(state / "ledger.sqlite3") as old:
        old.execute(
            """CREATE TABLE files (watch TEXT NOT NULL, relative TEXT NOT NULL, size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, sha256 TEXT, status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, output TEXT, profile_hash TEXT, name TEXT,
            arrival REAL NOT NULL DEFAULT 0, next_attempt REAL NOT NULL DEFAULT 0,
            updated REAL NOT NULL DEFAULT 0, PRIMARY KEY (watch, relative)) WITHOUT ROWID"""
        )
        old.execute(
            "INSERT INTO files (watch, relative, size, mtime_ns, inode, status) VALUES ('w', 'a', 10, 1, 7, 'pending')"
        )
    old.close()
    ledger = Ledger.open(state)
    try:
        assert ledger.counts("w")["pending"] == 1
        ledger.hold("w", "a", A, until=900)
        assert ledger.held("w") == [("a", 900.0)]
        assert ledger.rows_for("w", ["a"])["a"].content_hash is None  # the old sha256 column, renamed
    finally:
        ledger.close()
    Ledger.open(state).close()  # opening again does not add it twice


def test_release_times_read_well() -> None:
    assert describe_release(1_000 + 5 * HOUR + 12 * 60, now=1_000).endswith("(in 5 h 12 min)")
    assert describe_release(1_000 + 2 * 86400 + HOUR, now=1_000).endswith("(in 2 d 1 h)")
    assert describe_release(1_000 + 20, now=1_000).endswith("(in 1 min)")
    assert describe_release(900, now=1_000).endswith("(due now)")
    assert utc_iso(0) == "1970-01-01T00:00:00Z"


# -- waking the running daemon -----------------------------------------------------------------------------


def test_a_stale_pid_file_is_ignored(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])  # a pid that no longer runs
    gone.wait()
    (tmp_path / PID_NAME).write_text(f"{gone.pid}\n", encoding="ascii")
    assert running_daemon(tmp_path) is None
    (tmp_path / PID_NAME).write_text("not a pid\n", encoding="ascii")
    assert running_daemon(tmp_path) is None
    path = write_pid_file(tmp_path)
    assert (path.read_text(encoding="ascii").strip(), path.stat().st_mode & 0o777) == (
        str(os.getpid()),
        0o600,
    )
    remove_pid_file(tmp_path)
    assert not path.exists()


def test_release_wakes_sharesafe_run_which_publishes_at_once(
    tmp_path: Path, write_config: Callable[..., Path], capsys: Any
) -> None:
    config = delayed_config(tmp_path, write_config, delay="7d")
    (tmp_path / "inbox" / "a.jpg").write_bytes(jpeg_bytes(1))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    with (tmp_path / "daemon.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "watcher", "run", "-c", str(config)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        state = tmp_path / "state"
        wait_until(lambda: running_daemon(state) == process.pid, what="the pid file")
        ledger = Ledger.open(state)
        try:
            wait_until(lambda: ledger.held("inbox") != [], what="the hold")
        finally:
            ledger.close()
        capsys.readouterr()
        assert main(["release", "-c", str(config)]) == 0
        assert "the daemon publishes them now" in capsys.readouterr().out
        wait_until(lambda: copies(tmp_path / "share") == ["a.jpg"], what="the release")
        assert process.poll() is None  # SIGUSR1 woke it, it did not end it
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert not (tmp_path / "state" / PID_NAME).exists()
