"""The pipeline's media rules: motion photos (drop | separate) and Live Photo videos (keep | drop)."""

from __future__ import annotations

import dataclasses
from pathlib import Path, PurePath

import pytest

from tests.conftest import CORPUS
from tests.media import make_google_motion_photo, make_movie
from tests.oracle import assert_no_leaks
from watcher.pipeline import process_file
from watcher.rules.profile import STRICT

LIVE_PHOTO_MOV = CORPUS / "LycheeOrg__Lychee/tests/Samples/train.mov"
SAMSUNG_HEIC = CORPUS / "ente-io__motion_photos/assets/motionphoto.heic"


@pytest.fixture(scope="module")
def motion_photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("motion")
    return make_google_motion_photo(make_movie(folder / "movie.mp4"), folder / "PXL_1.MP.jpg")


def test_drop_publishes_the_still_alone(motion_photo: Path, tmp_path: Path) -> None:
    record = process_file(motion_photo, PurePath(motion_photo.name), tmp_path, STRICT)
    assert record.status == "published", record.reason
    assert record.companions == ()
    assert "trailer" in record.removed
    assert [p.name for p in tmp_path.iterdir()] == [Path(str(record.output)).name]
    assert_no_leaks(tmp_path)


@pytest.mark.parametrize("source", ["generated-google", "samsung-heic"])
def test_separate_publishes_a_clean_still_and_a_clean_video(
    source: str, motion_photo: Path, tmp_path: Path
) -> None:
    path = motion_photo if source == "generated-google" else SAMSUNG_HEIC
    profile = dataclasses.replace(STRICT, motion="separate")
    record = process_file(path, PurePath(path.name), tmp_path, profile)
    assert record.status == "published", record.reason
    assert len(record.companions) == 1
    video = Path(record.companions[0])
    assert video.name == f"{Path(str(record.output)).stem}.motion.mp4"  # the still's random name
    assert video.read_bytes()[4:8] == b"ftyp"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([Path(str(record.output)).name, video.name])
    assert_no_leaks(tmp_path)


def test_a_live_photo_video_is_skipped_under_drop_and_published_under_keep(tmp_path: Path) -> None:
    dropped = process_file(
        LIVE_PHOTO_MOV, PurePath("train.mov"), tmp_path, dataclasses.replace(STRICT, live_photo_video="drop")
    )
    assert dropped.status == "skipped"
    assert "Live Photo" in str(dropped.reason)
    assert list(tmp_path.iterdir()) == []
    kept = process_file(LIVE_PHOTO_MOV, PurePath("train.mov"), tmp_path, STRICT)
    assert kept.status == "published", kept.reason
    assert_no_leaks(tmp_path)
