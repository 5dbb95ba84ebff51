"""Publishing: temp file + fsync + rename, never through a symlink, never outside the destination."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path, PurePath

import pytest

from watcher.errors import PublishError
from watcher.pipeline.publish import (
    OUTPUT_MODE,
    Staged,
    check_relative,
    commit_staged,
    discard_staged,
    is_temp_name,
    remove_stale_temp_files,
    sync_pool,
    temp_output,
)


def test_commit_renames_a_complete_file_into_place_with_the_output_mode(tmp_path: Path) -> None:
    old_umask = os.umask(0o077)
    try:
        with temp_output(tmp_path, ("a", "b")) as out:
            out.file.write(b"payload")
            assert is_temp_name(out.name)
            out.commit("final.jpg")
    finally:
        os.umask(old_umask)
    final = tmp_path / "a" / "b" / "final.jpg"
    assert final.read_bytes() == b"payload"
    assert final.stat().st_mode & 0o777 == OUTPUT_MODE
    assert [p.name for p in final.parent.iterdir()] == ["final.jpg"]


def test_an_uncommitted_temp_file_is_removed(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), temp_output(tmp_path, ()) as out:
        out.file.write(b"half")
        raise RuntimeError("sanitize failed")
    assert list(tmp_path.iterdir()) == []


def test_a_symlinked_folder_in_the_destination_is_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PublishError, match="symbolic link"), temp_output(dest, ("sub",)):
        pass
    assert list(outside.iterdir()) == []


def test_a_symlink_planted_under_the_output_name_is_replaced_not_written_through(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "photo.jpg").symlink_to(victim)
    with temp_output(dest, ()) as out:
        out.file.write(b"clean")
        out.commit("photo.jpg")
    assert victim.read_bytes() == b"precious"
    assert not (dest / "photo.jpg").is_symlink()
    assert (dest / "photo.jpg").read_bytes() == b"clean"


@pytest.mark.parametrize("bad", ["/etc/passwd", "../x.jpg", "a/../../x.jpg", "."])
def test_unsafe_relative_paths_are_refused(bad: str) -> None:
    with pytest.raises(PublishError):
        check_relative(PurePath(bad))


def test_stale_temp_files_left_by_a_crash_are_removed(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / ".sharesafe-0123456789abcdef.tmp").write_bytes(b"partial")
    (tmp_path / "x" / "keep.jpg").write_bytes(b"done")
    assert remove_stale_temp_files(tmp_path) == 1
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["keep.jpg"]


@pytest.mark.parametrize(
    ("code", "message"),
    [(errno.EROFS, "read-only"), (errno.ENOSPC, "full"), (errno.EACCES, "permission denied")],
)
def test_destination_faults_become_publish_errors_with_a_plain_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, message: str
) -> None:
    real_open = os.open

    def failing_open(path: str, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        if str(path).startswith(".sharesafe-"):
            raise OSError(code, os.strerror(code))
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(os, "open", failing_open)
    with pytest.raises(PublishError, match=message), temp_output(tmp_path, ()):
        pass


def _staged(destination: Path, folder: tuple[str, ...], payload: bytes, final: str) -> Staged:
    with temp_output(destination, folder) as out:
        out.file.write(payload)
        return out.stage(final)


def test_a_staged_output_stays_hidden_until_committed(tmp_path: Path) -> None:
    staged = _staged(tmp_path, ("a",), b"payload", "final.jpg")
    assert [p.name for p in (tmp_path / "a").iterdir()] == [staged.temp]
    assert is_temp_name(staged.temp)
    assert commit_staged([staged]) == [None]
    final = tmp_path / "a" / "final.jpg"
    assert final.read_bytes() == b"payload"
    assert final.stat().st_mode & 0o777 == OUTPUT_MODE
    assert [p.name for p in final.parent.iterdir()] == ["final.jpg"]


def test_a_staged_output_is_not_published_into_a_folder_swapped_since(tmp_path: Path) -> None:
    staged = _staged(tmp_path, ("a",), b"payload", "final.jpg")
    (tmp_path / "a").rename(tmp_path / "elsewhere")
    (tmp_path / "a").mkdir()
    [error] = commit_staged([staged])
    assert error is not None and "replaced" in error
    assert list((tmp_path / "a").iterdir()) == []


def test_a_staged_output_whose_temp_file_vanished_is_reported_not_published(tmp_path: Path) -> None:
    kept = _staged(tmp_path, (), b"one", "one.jpg")
    lost = _staged(tmp_path, (), b"two", "two.jpg")
    (tmp_path / lost.temp).unlink()
    first, second = commit_staged([kept, lost])
    assert first is None
    assert second is not None and "cannot publish" in second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.jpg"]


def test_staged_outputs_synced_on_threads_are_published_and_a_lost_one_reported(tmp_path: Path) -> None:
    staged = [_staged(tmp_path, ("a",), f"data {n}".encode(), f"{n}.jpg") for n in range(20)]
    (tmp_path / "a" / staged[7].temp).unlink()
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(threading.current_thread().name)
        real_fsync(fd)

    with pytest.MonkeyPatch.context() as patch, sync_pool() as syncer:
        patch.setattr(os, "fsync", recording_fsync)
        errors = commit_staged(staged, syncer)
    assert [n for n, error in enumerate(errors) if error is not None] == [7]
    assert errors[7] is not None and "cannot publish" in errors[7]
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        f"{n}.jpg" for n in range(20) if n != 7
    )
    assert (tmp_path / "a" / "3.jpg").read_bytes() == b"data 3"
    assert len(synced) == 19 and all(name.startswith("sharesafe-fsync") for name in synced)


def test_discarded_staged_outputs_leave_nothing_behind(tmp_path: Path) -> None:
    staged = [_staged(tmp_path, ("x",), b"data", f"{n}.jpg") for n in range(3)]
    discard_staged(staged)
    assert list((tmp_path / "x").iterdir()) == []
