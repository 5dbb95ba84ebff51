"""Sync clients' temp names, NAS system folders and conflict copies are never published."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.daemon.ignore import IgnoreRules, is_conflict_copy

RULES = IgnoreRules()

TEMP_NAMES = [
    ".syncthing.IMG_0001.jpg.tmp",  # Syncthing
    "~syncthing~IMG_0001.jpg.tmp",  # Syncthing on Windows
    ".IMG_0001.jpg.Xa83kd",  # rsync
    ".IMG_0001.jpg.~3f9a1c",  # Nextcloud desktop
    "IMG_0001.jpg.part",
    "IMG_0001.jpg.partial",
    "IMG_0001.jpg.filepart",  # WinSCP
    "IMG_0001.jpg.crdownload",  # Chrome
    "IMG_0001.jpg.!sync",  # Resilio
    "IMG_0001.jpg.tmp",
    "IMG_0001.jpg~",
    "IMG_0001.jpg.sbak",
    "IMG_0001.jpg.~ocTransferId1234.part",  # ownCloud
    "IMG_0001.JPG.PART",
    "._IMG_0001.jpg",  # macOS resource fork
    "desktop.ini",
    "Thumbs.db",
    ".DS_Store",
]
IGNORED_FOLDERS = [
    "@eaDir/IMG_0001.jpg/SYNOFILE_THUMB_XL.jpg",
    "#recycle/IMG_0001.jpg",
    "#snapshot/daily/IMG_0001.jpg",
    ".Trash-1000/files/IMG_0001.jpg",
    "$RECYCLE.BIN/IMG_0001.jpg",
    "lost+found/IMG_0001.jpg",
    ".stversions/IMG_0001~20240101-101010.jpg",
    ".stfolder/x.jpg",
    "2024/.hidden/IMG_0001.jpg",
]
CONFLICTS = [
    "IMG_0001.sync-conflict-20240101-101010-ABCDEFG.jpg",
    "IMG_0001 (conflicted copy 2024-01-01 101010).jpg",
    "IMG_0001 (Case Conflict).jpg",
    "IMG_0001_conflict-20240101-101010.jpg",
    "IMG_0001 (SFConflict someone 2024-01-01-10-10-10).jpg",
]
PHOTOS = ["IMG_0001.jpg", "2024/05/PXL_20240501_101010.MP.jpg", "Camera/IMG_0002.HEIC", "a.b.png", "tmp.jpg"]


@pytest.mark.parametrize("name", TEMP_NAMES)
def test_temp_and_system_names_are_ignored(name: str) -> None:
    assert RULES.ignores_file(PurePosixPath(name))
    assert RULES.ignores_file(PurePosixPath("Camera") / name)


@pytest.mark.parametrize("relative", IGNORED_FOLDERS)
def test_files_in_system_folders_are_ignored(relative: str) -> None:
    assert RULES.ignores_file(PurePosixPath(relative))
    assert RULES.ignores_folder(PurePosixPath(relative).parent)


@pytest.mark.parametrize("name", CONFLICTS)
def test_conflict_copies_are_skipped_unless_asked_for(name: str) -> None:
    assert is_conflict_copy(name)
    assert RULES.ignores_file(PurePosixPath(name))
    assert not IgnoreRules(publish_conflict_copies=True).ignores_file(PurePosixPath(name))


@pytest.mark.parametrize("relative", PHOTOS)
def test_ordinary_photos_are_not_ignored(relative: str) -> None:
    assert not RULES.ignores_file(PurePosixPath(relative))
    assert not is_conflict_copy(PurePosixPath(relative).name)


def test_state_dir_and_destinations_inside_the_source_are_excluded(tmp_path: Path) -> None:
    rules = IgnoreRules(excluded=(tmp_path / "src" / "share", tmp_path / "src" / "state"))
    assert rules.ignores_file(PurePosixPath("share/a.jpg"), tmp_path / "src" / "share" / "a.jpg")
    assert rules.ignores_folder(PurePosixPath("state"), tmp_path / "src" / "state")
    assert not rules.ignores_file(PurePosixPath("shared/a.jpg"), tmp_path / "src" / "shared" / "a.jpg")


def test_configured_patterns_match_names_and_paths() -> None:
    rules = IgnoreRules(extra_patterns=("*.MOV", "Screenshots/*"))
    assert rules.ignores_file(PurePosixPath("clip.mov"))
    assert rules.ignores_file(PurePosixPath("Screenshots/s1.png"))
    assert not rules.ignores_file(PurePosixPath("Camera/s1.png"))


@given(st.text(min_size=1, max_size=40).filter(lambda text: "/" not in text and "\0" not in text))
def test_every_dot_name_is_ignored(tail: str) -> None:
    assert RULES.ignores_file(PurePosixPath("." + tail))
    assert RULES.ignores_file(PurePosixPath("." + tail + "/photo.jpg"))
