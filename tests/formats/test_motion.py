"""Motion photos: a generated Google motion-photo JPEG and the corpus's Samsung motion-photo HEICs."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.conftest import CORPUS, LEAKCHECK
from tests.media import make_google_motion_photo, make_movie
from watcher.formats.bmff import top_level
from watcher.formats.motion import copy_motion_video, find_motion_video, sanitize_motion_video
from watcher.rules.profile import STRICT

SAMSUNG_HEICS = [
    CORPUS / "ente-io__motion_photos/assets/motionphoto.heic",
    CORPUS / "immich-app__test-assets/formats/motionphoto/samsung-one-ui-6.heic",
]
NOT_MOTION = [
    CORPUS / "LycheeOrg__Lychee/tests/Samples/google_motion_photo_broken.jpg",  # video bytes zeroed
    CORPUS
    / "drewnoakes__metadata-extractor-images/jpg/Samsung SM-G935L (Galaxy S7 Edge).jpg",  # SEFT, no video
    CORPUS / "LycheeOrg__Lychee/tests/Samples/train.jpg",
]


def leakcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LEAKCHECK), *map(str, paths)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def embedded_movie(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return make_movie(tmp_path_factory.mktemp("motion") / "movie.mp4")


@pytest.fixture(scope="module")
def google_motion_photo(tmp_path_factory: pytest.TempPathFactory, embedded_movie: bytes) -> Path:
    return make_google_motion_photo(embedded_movie, tmp_path_factory.mktemp("motion") / "PXL_motion.MP.jpg")


def samsung_trailer(movie: bytes) -> bytes:
    """A SEFT trailer whose one entry, MotionPhoto_Data, holds ``movie``."""
    name = b"MotionPhoto_Data"
    block = b"\0\0\x30\x0a" + len(name).to_bytes(4, "little") + name + movie
    directory = (
        b"SEFH"
        + (107).to_bytes(4, "little")
        + (1).to_bytes(4, "little")
        + b"\0\0\x30\x0a"
        + len(block).to_bytes(4, "little")
        + len(block).to_bytes(4, "little")
    )
    return block + directory + len(directory).to_bytes(4, "little") + b"SEFT"


@pytest.fixture(scope="module")
def samsung_motion_jpeg(tmp_path_factory: pytest.TempPathFactory, embedded_movie: bytes) -> Path:
    still = io.BytesIO()
    Image.new("RGB", (32, 24), (40, 40, 200)).save(still, "JPEG")
    path = tmp_path_factory.mktemp("motion") / "samsung_motion.jpg"
    path.write_bytes(still.getvalue() + samsung_trailer(embedded_movie))
    return path


def test_samsung_seft_motion_video_is_found_exactly(samsung_motion_jpeg: Path, embedded_movie: bytes) -> None:
    with samsung_motion_jpeg.open("rb") as source:
        span = find_motion_video(source)
        assert span is not None
        copied = io.BytesIO()
        copy_motion_video(source, span, copied)
    assert copied.getvalue() == embedded_movie


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), replacement=st.binary(min_size=1, max_size=12))
def test_mutated_motion_photos_give_a_span_inside_the_file_or_none(
    samsung_motion_jpeg: Path, position: int, replacement: bytes
) -> None:
    data = samsung_motion_jpeg.read_bytes()
    # Mutations land in the trailer and the movie's headers, where the parsing happens.
    start = len(data) - 200 - (position % 400)
    mutated = data[:start] + replacement + data[start + len(replacement) :]
    span = find_motion_video(io.BytesIO(mutated))
    assert span is None or (span[0] > 0 and span[0] + span[1] <= len(mutated))


def test_google_motion_photo_video_is_found_exactly(google_motion_photo: Path, embedded_movie: bytes) -> None:
    with google_motion_photo.open("rb") as source:
        span = find_motion_video(source)
        assert span is not None
        copied = io.BytesIO()
        copy_motion_video(source, span, copied)
    assert copied.getvalue() == embedded_movie


def test_google_motion_photo_separate_publishes_a_clean_video(
    google_motion_photo: Path, tmp_path: Path
) -> None:
    output = tmp_path / "motion.mp4"
    with google_motion_photo.open("rb") as source, output.open("w+b") as writer:
        result = sanitize_motion_video(source, writer, STRICT)
    assert result is not None and result.lossless
    assert "location" in result.removed
    assert leakcheck(output).returncode == 0


def test_google_motion_photo_drop_publishes_the_still_alone(
    google_motion_photo: Path, tmp_path: Path
) -> None:
    jpeg = pytest.importorskip("watcher.formats.jpeg")
    output = tmp_path / "still.jpg"
    with google_motion_photo.open("rb") as source, output.open("w+b") as writer:
        result = jpeg.HANDLER.sanitize(source, writer, STRICT)
        jpeg.HANDLER.verify(writer, source, STRICT, result)
    data = output.read_bytes()
    assert data.endswith(b"\xff\xd9")
    assert b"ftyp" not in data
    with output.open("rb") as reader:
        assert find_motion_video(reader) is None
    assert leakcheck(output).returncode == 0


@pytest.mark.parametrize("source", SAMSUNG_HEICS, ids=lambda path: path.name)
def test_samsung_heic_mpvd_video_is_found_and_sanitized(source: Path, tmp_path: Path) -> None:
    with source.open("rb") as reader:
        span = find_motion_video(reader)
        assert span is not None
        mpvd = next(found for found in top_level(reader) if found.type == b"mpvd")
        # The movie starts the mpvd payload; Samsung may pad the box after the movie's last box.
        assert span[0] == mpvd.start
        assert span[0] + span[1] <= mpvd.end
        output = tmp_path / "motion.mp4"
        with output.open("w+b") as writer:
            assert sanitize_motion_video(reader, writer, STRICT) is not None
    assert leakcheck(output).returncode == 0


@pytest.mark.parametrize("source", SAMSUNG_HEICS, ids=lambda path: path.name)
def test_samsung_heic_still_is_published_without_its_video(source: Path, tmp_path: Path) -> None:
    heif = pytest.importorskip("watcher.formats.heif")
    output = tmp_path / "still"
    with source.open("rb") as reader, output.open("w+b") as writer:
        result = heif.HANDLER.sanitize(reader, writer, STRICT)
        heif.HANDLER.verify(writer, reader, STRICT, result)
    with output.open("rb") as reader:
        assert find_motion_video(reader) is None
    assert b"mpvd" not in output.read_bytes()
    assert leakcheck(output).returncode == 0


@pytest.mark.parametrize("source", NOT_MOTION, ids=lambda path: path.name)
def test_stills_without_a_whole_embedded_movie_have_none(source: Path) -> None:
    with source.open("rb") as reader:
        assert find_motion_video(reader) is None


def test_truncated_embedded_movie_is_not_reported(google_motion_photo: Path, tmp_path: Path) -> None:
    data = google_motion_photo.read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: data.rindex(b"moov") - 4])
    with cut.open("rb") as reader:
        assert find_motion_video(reader) is None
