"""The settle queue, driven by a fake clock: nothing is handed on while it changes or looks unfinished."""

from __future__ import annotations

import os
from pathlib import Path

import structlog
from daemon_helpers import FakeClock, jpeg_bytes, png_bytes

from watcher.daemon.settle import SettleQueue, snapshot_of

KEY = ("inbox", "a.jpg")


def settle_of(_watch: str) -> float:
    return 2.0


def test_a_quiet_complete_file_is_handed_on_after_the_settle_time(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "a.jpg"
    photo.write_bytes(jpeg_bytes(1))
    queue = SettleQueue(clock=clock)
    queue.note(KEY, photo, 2.0)
    clock.advance(1.9)
    assert queue.pop_settled(settle_of) == []
    clock.advance(0.2)
    [settled] = queue.pop_settled(settle_of)
    assert settled.key == KEY
    assert settled.snapshot == snapshot_of(photo)
    assert len(queue) == 0


def test_each_event_pushes_the_deadline_back(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "a.jpg"
    photo.write_bytes(jpeg_bytes(1))
    queue = SettleQueue(clock=clock)
    queue.note(KEY, photo, 2.0)
    clock.advance(1.5)
    queue.note(KEY, photo, 2.0)
    clock.advance(1.5)
    assert queue.pop_settled(settle_of) == []
    assert queue.next_deadline() == clock.now + 0.5
    clock.advance(0.5)
    assert [s.key for s in queue.pop_settled(settle_of)] == [KEY]


def test_a_file_that_changed_without_an_event_waits_another_round(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "a.jpg"
    data = jpeg_bytes(2)
    photo.write_bytes(data[:100])
    queue = SettleQueue(clock=clock, is_complete=lambda _path: True)
    queue.note(KEY, photo, 2.0)
    photo.write_bytes(data)  # grew, but the event was lost
    clock.advance(2.0)
    assert queue.pop_settled(settle_of) == []
    clock.advance(2.0)
    assert [s.snapshot.size for s in queue.pop_settled(settle_of)] == [len(data)]


def test_a_replaced_file_with_the_same_size_and_time_is_caught_by_its_inode(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "a.jpg"
    photo.write_bytes(jpeg_bytes(3))
    queue = SettleQueue(clock=clock)
    queue.note(KEY, photo, 2.0)
    before = os.stat(photo)
    replacement = tmp_path / ".a.jpg.tmp"
    replacement.write_bytes(jpeg_bytes(3))
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    keep_inode_busy = tmp_path / "old.jpg"
    os.link(photo, keep_inode_busy)  # the old inode stays allocated, so the new file cannot reuse it
    os.replace(replacement, photo)
    clock.advance(2.0)
    assert queue.pop_settled(settle_of) == []


def test_a_truncated_jpeg_waits_until_its_end_marker_arrives(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "a.jpg"
    data = jpeg_bytes(4, size=64)
    photo.write_bytes(data[:-2])  # no EOI yet: the writer stalled
    queue = SettleQueue(clock=clock)
    queue.note(KEY, photo, 2.0)
    clock.advance(2.0)
    assert queue.pop_settled(settle_of) == []
    with photo.open("ab") as handle:
        handle.write(data[-2:])
    clock.advance(2.0)
    assert queue.pop_settled(settle_of) == []  # it changed: one more quiet round
    clock.advance(2.0)
    assert [s.key for s in queue.pop_settled(settle_of)] == [KEY]


def test_a_png_without_iend_is_not_complete(tmp_path: Path) -> None:
    clock = FakeClock()
    image = tmp_path / "b.png"
    image.write_bytes(png_bytes(1)[:-12])
    queue = SettleQueue(clock=clock)
    queue.note(("inbox", "b.png"), image, 1.0)
    clock.advance(5.0)
    assert queue.pop_settled(settle_of) == []
    assert len(queue) == 1


def test_a_vanished_file_is_dropped(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "a.jpg"
    photo.write_bytes(jpeg_bytes(5))
    queue = SettleQueue(clock=clock)
    queue.note(KEY, photo, 2.0)
    photo.unlink()
    clock.advance(3.0)
    assert queue.pop_settled(settle_of) == []
    assert len(queue) == 0


def test_a_file_still_changing_after_the_cap_is_reported_and_looked_at_less_often(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "live.jpg"
    queue = SettleQueue(clock=clock, max_wait_seconds=10.0, is_complete=lambda _path: True)
    queue.note(("inbox", "live.jpg"), photo, 2.0)
    with structlog.testing.capture_logs() as logs:
        for step in range(6):
            photo.write_bytes(jpeg_bytes(step) * (step + 1))
            clock.advance(2.0)
            assert queue.pop_settled(settle_of) == []
    assert [entry["event"] for entry in logs] == ["file_changed_while_settling"]
    assert queue.next_deadline() == clock.now + 10.0  # now looked at once per cap period
    assert ("inbox", "live.jpg") in queue


def test_an_unchanged_file_that_never_completes_is_handed_on_after_the_grace(tmp_path: Path) -> None:
    clock = FakeClock()
    photo = tmp_path / "cut.jpg"
    photo.write_bytes(jpeg_bytes(7, size=64)[:-40])
    queue = SettleQueue(clock=clock, incomplete_grace_seconds=30.0)
    queue.note(("inbox", "cut.jpg"), photo, 2.0)
    for _ in range(14):
        clock.advance(2.0)
        assert queue.pop_settled(settle_of) == []
    clock.advance(2.0)
    assert [s.key for s in queue.pop_settled(settle_of)] == [("inbox", "cut.jpg")]


def test_symlinks_and_folders_are_not_files(tmp_path: Path) -> None:
    (tmp_path / "real.jpg").write_bytes(jpeg_bytes(6))
    (tmp_path / "link.jpg").symlink_to(tmp_path / "real.jpg")
    assert snapshot_of(tmp_path / "link.jpg") is None
    assert snapshot_of(tmp_path) is None
    assert snapshot_of(tmp_path / "real.jpg") is not None
