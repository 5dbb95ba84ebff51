"""Faults: a full, read-only or vanished destination, a source share that unmounts and comes back, a file
the daemon may not read, a file replaced while it is processed, and wall-clock jumps. In each the daemon
keeps running, publishes nothing broken, says what went wrong, and loses nothing once the fault is gone.

Disk-full, read-only and unmount faults are real: a small tmpfs (root and a mount-permitting machine only).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path, PurePath
from typing import Any

import pytest
import xxhash

from tests.reliability.daemon_inprocess import fill_up, mount, mount_works, remount, running, settle, unmount
from tests.reliability.daemon_process import (
    copies,
    fill_backlog,
    launch,
    ledger_rows,
    log_records,
    photo_bytes,
    status_json,
    stop,
    temp_files,
    tree_hashes,
    wait_for,
    write_config,
)
from watcher.errors import SourceError
from watcher.pipeline import process
from watcher.pipeline.sanitize import sanitize_and_verify
from watcher.rules.profile import STRICT

PLAIN = replace(STRICT, names="keep")
RETRY = 0.05  # seconds: the first retry back-off, so a fault that clears is retried within the test


def _statuses(tmp_path: Path) -> dict[str, str]:
    return {row["relative"]: row["status"] for row in ledger_rows(tmp_path / "state")}


def _errors(tmp_path: Path) -> set[str]:
    return {row["last_error"] for row in ledger_rows(tmp_path / "state") if row["last_error"]}


@pytest.fixture
def mounts(tmp_path: Path) -> None:
    if not mount_works(tmp_path):
        pytest.skip("this machine does not let the tests mount a tmpfs")


@pytest.mark.usefixtures("mounts")
@pytest.mark.parametrize("fault", ["full", "read_only"])
def test_a_full_or_read_only_destination_fails_files_then_publishes_them_when_it_recovers(
    tmp_path: Path, fault: str
) -> None:
    share = tmp_path / "share"
    share.mkdir()
    mount(share, "1m")
    try:
        config = write_config(tmp_path)
        hashes = fill_backlog(tmp_path / "inbox", 12)
        filler = fill_up(share) if fault == "full" else None
        if fault == "read_only":
            remount(share, "ro")
        with running(config, retry_base_seconds=RETRY) as daemon:
            wait_for(lambda: set(_statuses(tmp_path).values()) == {"failed"}, 60, "every file to fail")
            assert daemon.observer_modes(), "the daemon stopped watching"
            expected = "the destination is full" if fault == "full" else "the destination is read-only"
            assert all(expected in error for error in _errors(tmp_path)), _errors(tmp_path)
            assert copies(share) == (["filler.bin"] if filler else [])
            assert temp_files(share) == []
            if filler is not None:
                filler.unlink()
            else:
                remount(share, "rw")
            wait_for(lambda: set(_statuses(tmp_path).values()) == {"published"}, 120, "the retries")
            settle(daemon)
        assert copies(share) == sorted(hashes)
        assert temp_files(share) == []
    finally:
        unmount(share)


@pytest.mark.usefixtures("mounts")
def test_a_destination_share_that_unmounts_receives_nothing_until_it_is_back(tmp_path: Path) -> None:
    share = tmp_path / "share"
    share.mkdir()
    mount(share, "4m")
    try:
        config = write_config(tmp_path)
        first = fill_backlog(tmp_path / "inbox", 5)
        with running(config, retry_base_seconds=RETRY) as daemon:
            wait_for(lambda: copies(share) == sorted(first), 60, "the first copies")
            unmount(share)  # the NAS share goes away: its mount point stays, an empty local folder
            (tmp_path / "inbox" / "late.jpg").write_bytes(photo_bytes(50))
            daemon.request_reconcile()
            wait_for(lambda: _statuses(tmp_path).get("late.jpg") == "failed", 60, "the late file to wait")
            assert any("not mounted" in error for error in _errors(tmp_path)), _errors(tmp_path)
            assert os.listdir(share) == [], "a copy went into the empty mount point"
            mount(share, "4m")  # back (empty here; the ledger still knows the first copies)
            wait_for(lambda: "late.jpg" in copies(share), 60, "the late file after the remount")
            settle(daemon)
        assert _statuses(tmp_path)["late.jpg"] == "published"
    finally:
        unmount(share)


@pytest.mark.usefixtures("mounts")
def test_a_source_share_that_unmounts_is_not_read_as_everything_deleted(tmp_path: Path) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    inbox.mkdir()
    mount(inbox, "4m")
    try:
        config = write_config(tmp_path, on_source_delete="delete")
        hashes = fill_backlog(inbox, 15)
        with running(config, retry_base_seconds=RETRY) as daemon:
            wait_for(lambda: copies(share) == sorted(hashes), 60, "the first copies")
            saved = tree_hashes(inbox)
            unmount(inbox)  # the share goes away: its mount point stays, empty
            daemon.request_reconcile()
            settle(daemon)
            assert copies(share) == sorted(hashes), "copies were deleted while the share was away"
            assert len(ledger_rows(tmp_path / "state")) == len(hashes)
            mount(inbox, "4m")  # the share comes back, with its files and one new one
            for relative in saved:
                (inbox / relative).parent.mkdir(parents=True, exist_ok=True)
                (inbox / relative).write_bytes(photo_bytes(int(relative.split("_")[1][:5])))
            (inbox / "new.jpg").write_bytes(photo_bytes(100))
            daemon.request_reconcile()
            wait_for(lambda: "new.jpg" in copies(share), 60, "the new file")
            settle(daemon)
        assert copies(share) == sorted([*hashes, "new.jpg"])
        assert set(_statuses(tmp_path).values()) == {"published"}
    finally:
        unmount(inbox)


# Root reads every file whatever its mode: without these capabilities it reads as an ordinary user would.
WITHOUT_DAC_OVERRIDE = (
    "setpriv",
    "--bounding-set=-dac_override,-dac_read_search",
    "--inh-caps=-dac_override,-dac_read_search",
)


def test_a_file_the_daemon_may_not_read_fails_alone_and_is_reported(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to take away the daemon's right to read every file")
    config = write_config(tmp_path)
    hashes = fill_backlog(tmp_path / "inbox", 6)
    locked = sorted(hashes)[0]
    (tmp_path / "inbox" / locked).chmod(0)
    log = tmp_path / "daemon.log"
    daemon_process = launch(config, log, prefix=WITHOUT_DAC_OVERRIDE)
    try:
        wait_for(lambda: len(copies(tmp_path / "share")) == len(hashes) - 1, 120, "the readable files")
        wait_for(lambda: _statuses(tmp_path).get(locked) == "failed", 60, "the unreadable file to fail")
        (watch,) = status_json(config)["watches"]
        assert watch["failed"] == 1
        assert "permission denied" in json.dumps(watch["last_errors"]), watch
        assert daemon_process.poll() is None, "the daemon stopped"
    finally:
        assert stop(daemon_process) == 0
    failures = [r for r in log_records(log) if r["event"] == "file_failed" and r["source"] == locked]
    assert failures and "permission denied" in failures[0]["reason"]


@pytest.mark.parametrize("swap", ["rewrite_in_place", "rename_over"])
def test_a_file_replaced_while_it_is_sanitized_is_published_from_one_version_or_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    (tmp_path / "share").mkdir()
    source = tmp_path / "photo.jpg"
    first, second = photo_bytes(1), photo_bytes(2)
    source.write_bytes(first)

    def replace_midway(*args: Any, **kwargs: Any) -> Any:
        if swap == "rewrite_in_place":
            with source.open("r+b") as stream:
                stream.write(second[: len(first)])
        else:
            staged = tmp_path / "staged.jpg"
            staged.write_bytes(second)
            staged.replace(source)
        return sanitize_and_verify(*args, **kwargs)

    monkeypatch.setattr(process, "sanitize_and_verify", replace_midway)
    try:
        record = process.process_file(source, PurePath("photo.jpg"), tmp_path / "share", PLAIN)
    except SourceError as error:
        assert "changed while it was being read" in str(error)
        assert copies(tmp_path / "share") == []
        return
    # The open file was the old version all along: the copy is the clean copy of that version, whole.
    monkeypatch.setattr(process, "sanitize_and_verify", sanitize_and_verify)
    assert record.status == "published"
    assert record.source_hash == "xxh3-128:" + xxhash.xxh3_128(first).hexdigest()
    reference = tmp_path / "reference"
    reference.mkdir()
    (tmp_path / "first.jpg").write_bytes(first)
    clean = process.process_file(tmp_path / "first.jpg", PurePath("photo.jpg"), reference, PLAIN)
    assert Path(str(record.output)).read_bytes() == Path(str(clean.output)).read_bytes()


def test_wall_clock_jumps_do_not_lose_or_repeat_files(tmp_path: Path) -> None:
    jump = WallClock()
    config = write_config(tmp_path)
    hashes = fill_backlog(tmp_path / "inbox", 10)
    with running(config, retry_base_seconds=RETRY, wall_clock=jump) as daemon:
        wait_for(lambda: len(copies(tmp_path / "share")) == 10, 60, "the first copies")
        jump.offset = -86_400.0  # a day back (an NTP step, a dead RTC battery)
        for index in range(10, 15):
            (tmp_path / "inbox" / f"back-{index}.jpg").write_bytes(photo_bytes(index))
        wait_for(lambda: len(copies(tmp_path / "share")) == 15, 60, "the copies after the jump back")
        jump.offset = 365 * 86_400.0  # a year ahead
        for index in range(15, 20):
            (tmp_path / "inbox" / f"ahead-{index}.jpg").write_bytes(photo_bytes(index))
        daemon.request_reconcile()
        wait_for(lambda: len(copies(tmp_path / "share")) == 20, 60, "the copies after the jump ahead")
        settle(daemon)
    assert set(_statuses(tmp_path).values()) == {"published"}
    assert len(_statuses(tmp_path)) == len(hashes) + 10


class WallClock:
    """``time.time`` plus a jump the test sets."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset
