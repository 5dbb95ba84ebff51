"""Publishing: temp file + fsync + rename, never through a symlink, never outside the destination."""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePath

import pytest

from watcher.errors import PublishError
from watcher.pipeline.publish import (
    OUTPUT_MODE,
    check_relative,
    is_temp_name,
    remove_stale_temp_files,
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
