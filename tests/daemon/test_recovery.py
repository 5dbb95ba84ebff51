"""Catch-up and recovery: files added while stopped, lost events, deleted copies, profile changes, vanished
sources, polling, a dead observer and config reloads."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from daemon_helpers import (
    OffsetClock,
    OffsetWallClock,
    copies,
    jpeg_bytes,
    published_files,
    removal_records,
    wait_until,
)
from PIL import Image

from watcher.daemon import observer as observer_module
from watcher.daemon import reconcile as reconcile_module
from watcher.daemon.ledger import Ledger
from watcher.daemon.reconcile import EMPTY_SOURCE_GUARD_ROWS, reconcile
from watcher.daemon.watches import build_watches
from watcher.rules.config import load_config

Start = Callable[..., Any]


def watch_entry(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "inbox",
        "source": str(tmp_path / "inbox"),
        "destination": str(tmp_path / "share"),
        "settle_seconds": 0.3,
        "profile": "plain",
        **overrides,
    }


def run_until_idle(start_daemon: Start, config: Path | None = None, expected: int | None = None) -> None:
    with start_daemon(config) as daemon:
        if expected is not None:
            wait_until(lambda: len(copies(daemon.config.watches[0].destination)) >= expected)
        wait_until(daemon.idle, what="the daemon to go idle")


def test_files_added_while_stopped_are_caught_up_at_start(tmp_path: Path, start_daemon: Start) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    run_until_idle(start_daemon)
    (inbox / "2024").mkdir(parents=True)
    for index in range(20):
        (inbox / "2024" / f"{index}.jpg").write_bytes(jpeg_bytes(index))
    run_until_idle(start_daemon, expected=20)
    assert len(published_files(share)) == 20
    run_until_idle(start_daemon)  # a third start publishes nothing again
    assert len(removal_records(tmp_path / "state" / "removed.jsonl")) == 20


def test_a_dropped_event_is_caught_by_the_periodic_reconcile(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    config = write_config(reconcile_every=3600)
    real_hints_for = observer_module.hints_for

    def lossy(watch: str, event: Any) -> list[observer_module.Hint]:
        return [hint for hint in real_hints_for(watch, event) if "lost" not in hint.path]

    monkeypatch.setattr(observer_module, "hints_for", lossy)
    clock = OffsetClock()
    with start_daemon(config, clock=clock) as daemon:
        wait_until(daemon.idle, what="the start-up reconcile to finish")
        (inbox / "lost.jpg").write_bytes(jpeg_bytes(1))
        (inbox / "seen.jpg").write_bytes(jpeg_bytes(2))
        wait_until(lambda: published_files(share) == ["seen.jpg"], what="the photo whose event arrived")
        wait_until(daemon.idle, what="the daemon to go idle")
        assert published_files(share) == ["seen.jpg"]  # the lost event really was lost
        clock.offset += 3601  # the hourly timer is due
        daemon.wake()
        wait_until(lambda: published_files(share) == ["lost.jpg", "seen.jpg"], what="the reconcile")


def test_a_copy_the_user_deleted_is_not_recreated(tmp_path: Path, start_daemon: Start) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    inbox.mkdir()
    for name in ("keep.jpg", "unwanted.jpg"):
        (inbox / name).write_bytes(jpeg_bytes(len(name)))
    run_until_idle(start_daemon, expected=2)
    (share / "unwanted.jpg").unlink()
    run_until_idle(start_daemon)
    assert published_files(share) == ["keep.jpg"]


def test_a_profile_change_remakes_the_published_copies_but_not_deleted_ones(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    inbox.mkdir()
    for name in ("a.jpg", "b.jpg", "gone.jpg"):
        (inbox / name).write_bytes(jpeg_bytes(len(name)))
    run_until_idle(start_daemon, write_config(), expected=3)
    (share / "gone.jpg").unlink()
    family = write_config([watch_entry(tmp_path, profile="family-plain")])
    run_until_idle(start_daemon, family)
    records = removal_records(tmp_path / "state" / "removed.jsonl")
    assert sorted(Path(record["source"]).name for record in records) == [
        "a.jpg",
        "a.jpg",
        "b.jpg",
        "b.jpg",
        "gone.jpg",
    ]
    assert published_files(share) == ["a.jpg", "b.jpg"]


def test_refused_files_wait_until_they_change(tmp_path: Path, start_daemon: Start) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    inbox.mkdir()
    (inbox / "notes.jpg").write_bytes(b"this is not a picture at all" * 10)
    run_until_idle(start_daemon)
    run_until_idle(start_daemon)
    records = removal_records(tmp_path / "state" / "removed.jsonl")
    assert [record["status"] for record in records] == ["refused"]
    (inbox / "notes.jpg").write_bytes(jpeg_bytes(3))
    run_until_idle(start_daemon, expected=1)
    assert published_files(share) == ["notes.jpg"]


def test_on_source_delete_removes_the_copy_but_an_unmounted_source_removes_nothing(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    config = write_config([watch_entry(tmp_path, on_source_delete="delete")])
    count = EMPTY_SOURCE_GUARD_ROWS + 2
    for index in range(count):
        (inbox / f"{index}.jpg").write_bytes(jpeg_bytes(index))
    with start_daemon(config) as daemon:
        wait_until(lambda: len(copies(share)) == count)
        (inbox / "0.jpg").unlink()  # the user deleted one photo: its copy goes too
        wait_until(lambda: len(copies(share)) == count - 1, what="the copy to be removed")
    shutil.rmtree(inbox)
    inbox.mkdir()  # the share is "unmounted": an empty mount point
    with start_daemon(config) as daemon:
        wait_until(daemon.idle)
    assert len(published_files(share)) == count - 1
    shutil.rmtree(inbox)  # not even there
    with start_daemon(config) as daemon:
        wait_until(daemon.idle)
        assert daemon.ledger.count("inbox") == count - 1
    assert len(published_files(share)) == count - 1


def test_polling_publishes_where_inotify_sees_nothing(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"

    def no_inotify(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a polled watch must not use inotify")

    monkeypatch.setattr(observer_module, "InotifyObserver", no_inotify)
    config = write_config([watch_entry(tmp_path, poll=1)])
    with start_daemon(config) as daemon:
        assert daemon.observer_modes() == {"inbox": "polling"}
        (inbox / "sub").mkdir()
        (inbox / "sub" / "a.jpg").write_bytes(jpeg_bytes(1))
        wait_until(lambda: published_files(share) == ["sub/a.jpg"], what="the poll")


def test_inotify_watch_limit_falls_back_to_polling_and_says_so(
    tmp_path: Path, start_daemon: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    real_start = observer_module._start
    monkeypatch.setattr(observer_module, "DEFAULT_NETWORK_POLL_SECONDS", 0.5)

    def limited(observer: Any, watch: Any, sink: Any) -> None:
        if isinstance(observer, observer_module.InotifyObserver):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        real_start(observer, watch, sink)

    monkeypatch.setattr(observer_module, "_start", limited)
    with structlog.testing.capture_logs() as logs, start_daemon() as daemon:
        assert daemon.observer_modes() == {"inbox": "polling"}
        (inbox / "a.jpg").write_bytes(jpeg_bytes(1))
        wait_until(lambda: published_files(share) == ["a.jpg"])
    [polling] = [entry for entry in logs if entry["event"] == "watch_polling"]
    assert "max_user_watches" in polling["reason"]


def test_a_dead_observer_is_restarted_and_its_tree_rescanned(tmp_path: Path, start_daemon: Start) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    with structlog.testing.capture_logs() as logs, start_daemon() as daemon:
        running = daemon._observers.get("inbox")
        assert running is not None
        running.stop()  # as if its thread had died
        (inbox / "while_dead.jpg").write_bytes(jpeg_bytes(1))
        daemon.wake()
        wait_until(lambda: published_files(share) == ["while_dead.jpg"], what="the rescan")
        assert daemon._observers.get("inbox") not in (None, running)
        (inbox / "after.jpg").write_bytes(jpeg_bytes(2))
        wait_until(lambda: published_files(share) == ["after.jpg", "while_dead.jpg"], what="the new observer")
    assert any(entry["event"] == "watch_restarted" for entry in logs)


def test_reload_rejects_a_bad_config_and_applies_a_good_one(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    config = write_config()
    with structlog.testing.capture_logs() as logs, start_daemon(config) as daemon:
        config.write_text("watches: [{source: 12}]\nnonsense: 1\n", encoding="utf-8")
        daemon.request_reload()
        wait_until(lambda: any(entry["event"] == "config_rejected" for entry in logs), what="the rejection")
        (tmp_path / "inbox" / "a.jpg").write_bytes(jpeg_bytes(1))
        wait_until(lambda: published_files(tmp_path / "share") == ["a.jpg"], what="the old config at work")
        (tmp_path / "camera").mkdir()
        (tmp_path / "camera" / "b.jpg").write_bytes(jpeg_bytes(2))
        second = watch_entry(tmp_path, name="camera", source=str(tmp_path / "camera"))
        second["destination"] = str(tmp_path / "camera-share")
        write_config([watch_entry(tmp_path), second])
        daemon.request_reload()
        wait_until(lambda: published_files(tmp_path / "camera-share") == ["b.jpg"], what="the new watch")
        assert sorted(daemon.observer_modes()) == ["camera", "inbox"]


def test_a_source_that_appears_late_is_watched_and_caught_up(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    late, share = tmp_path / "late", tmp_path / "share"
    config = write_config([watch_entry(tmp_path, source=str(late))])
    with start_daemon(config) as daemon:
        assert daemon.observer_modes() == {}
        late.mkdir()
        (late / "early.jpg").write_bytes(jpeg_bytes(1))
        daemon.wake()
        wait_until(lambda: published_files(share) == ["early.jpg"], what="the late source's photo")
        assert daemon.observer_modes() == {"inbox": "inotify"}


def test_an_unreadable_folder_is_not_read_as_deleted(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    config = write_config([watch_entry(tmp_path, on_source_delete="delete")])
    (inbox / "private").mkdir()
    (inbox / "private" / "a.jpg").write_bytes(jpeg_bytes(1))
    (inbox / "b.jpg").write_bytes(jpeg_bytes(2))
    run_until_idle(start_daemon, config, expected=2)
    real_lstat = reconcile_module.os.lstat

    def denied(path: Any, *args: Any, **kwargs: Any) -> Any:
        if "private" in str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_lstat(path, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reconcile_module.os, "lstat", denied)
        # The scan cannot list the folder (as for a permission problem) and the file cannot be looked at.
        patch.setattr(reconcile_module.os, "scandir", scandir_without("private"))
        run_until_idle(start_daemon, config)
    assert published_files(share) == ["b.jpg", "private/a.jpg"]


def scandir_without(folder: str) -> Callable[..., Any]:
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if str(path).endswith(folder):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    return scandir


def test_a_random_name_is_drawn_once_and_kept_for_new_versions(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    config = write_config([watch_entry(tmp_path, profile="strict")])  # strict draws random names
    with start_daemon(config) as daemon:
        (inbox / "IMG_0001.jpg").write_bytes(jpeg_bytes(1))
        wait_until(lambda: len(copies(share)) == 1)
        [first] = copies(share)
        assert "IMG_0001" not in first
        (inbox / "IMG_0001.jpg").write_bytes(jpeg_bytes(2, size=32))  # edited on the phone
        wait_until(lambda: len(removal_records(tmp_path / "state" / "removed.jsonl")) == 2)
        wait_until(daemon.idle)
    assert published_files(share) == [first]  # replaced in place, not a second copy
    with Image.open(share / first) as image:
        assert image.size == (32, 32)


def test_a_delayed_profile_holds_the_copy_until_its_time(
    tmp_path: Path, write_config: Callable[..., Path], start_daemon: Start
) -> None:
    inbox, share = tmp_path / "inbox", tmp_path / "share"
    profiles = {"later": {"names": "keep", "delay": "1h"}}
    config = write_config([watch_entry(tmp_path, profile="later")], profiles=profiles)
    wall = OffsetWallClock()
    with start_daemon(config, wall_clock=wall) as daemon:
        (inbox / "a.jpg").write_bytes(jpeg_bytes(1))  # no capture time: an hour after arrival
        wait_until(lambda: (daemon.ledger.next_due(["inbox"]) or 0) > wall() + 3000, what="the hold")
        assert published_files(share) == []
        wall.offset += 3601
        daemon.wake()
        wait_until(lambda: published_files(share) == ["a.jpg"], what="the release")


def test_a_large_catch_up_reaches_the_workers_before_the_scan_ends(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = load_config(write_config())
    for index in range(100):
        (tmp_path / "inbox" / f"{index:03d}.jpg").write_bytes(jpeg_bytes(index))
    watch = build_watches(config)["inbox"]
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    pending_when_told: list[int] = []

    def told() -> None:
        pending_when_told.append(ledger.counts("inbox").get("pending", 0))

    try:
        report = reconcile(watch, ledger, lambda: 1_700_000_000.0, queued_some=told)
    finally:
        ledger.close()
    assert report.queued == 100
    # The first files are queued (and the main loop woken) after a handful, not after the whole tree.
    assert pending_when_told and pending_when_told[0] == reconcile_module._FIRST_BATCH
    assert pending_when_told == sorted(pending_when_told)
