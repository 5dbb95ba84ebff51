"""HEIF/HEIC/AVIF: the primary image is re-encoded upright; nothing else of the source survives."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path

import pillow_heif
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat

from tests.conftest import CORPUS, corpus_files
from tests.icc_helpers import assert_same_colours
from tests.oracle import assert_no_leaks
from watcher.errors import CorruptMedia, TooLarge, UnsupportedFormat
from watcher.formats.base import Sanitized
from watcher.formats.heif import HANDLER
from watcher.formats.heif_boxes import layout
from watcher.formats.heif_decode import open_primary
from watcher.rules.profile import STRICT, Profile

IMAGES = corpus_files("HEIC", "HEIF", "AVIF")
FUZZ = sorted((CORPUS / "strukturag__libheif/fuzzing/data/corpus").glob("*.heic"))
MOTION_PHOTOS = [
    CORPUS / "ente-io__motion_photos/assets/motionphoto.heic",
    CORPUS / "immich-app__test-assets/formats/motionphoto/samsung-one-ui-6.heic",
]
ROTATED_IPHONE = CORPUS / "LycheeOrg__Lychee/tests/Samples/classic-car.heic"  # EXIF Orientation 6, irot
SMALL_HEIC = CORPUS / "strukturag__libheif/tests/data/rainbow-451x461.heic"
SMALL_AVIF = CORPUS / "python-pillow__Pillow/Tests/images/avif/exif.avif"


def clean(data: bytes, profile: Profile = STRICT) -> tuple[bytes, Sanitized]:
    output = io.BytesIO()
    result = HANDLER.sanitize(io.BytesIO(data), output, profile)
    HANDLER.verify(io.BytesIO(output.getvalue()), io.BytesIO(data), profile, result)
    assert not result.lossless
    return output.getvalue(), result


def libraries_decode(data: bytes) -> bool:
    """Whether pillow-heif or Pillow's AVIF plugin decode the file: the reference for what must publish."""
    try:
        heif_file = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        heif_file[heif_file.primary_index].to_pillow()
        return True
    except Exception:
        pass
    try:
        with Image.open(io.BytesIO(data), formats=["AVIF"]) as image:
            image.load()
        return True
    except Exception:
        return False


def relative(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


@dataclass(frozen=True)
class Published:
    folder: Path  # every output, for the oracle
    outputs: dict[str, tuple[bytes, Sanitized]]  # corpus-relative source path -> (output, result)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """Every corpus HEIF/AVIF that is published, cleaned once for the tests below."""
    folder = tmp_path_factory.mktemp("heif-outputs")
    outputs: dict[str, tuple[bytes, Sanitized]] = {}
    for path in IMAGES:
        data = path.read_bytes()
        if not HANDLER.sniff(data[:64]):
            continue
        try:
            outputs[relative(path)] = clean(data)
        except (CorruptMedia, UnsupportedFormat):
            assert not libraries_decode(data), f"{relative(path)} decodes but was refused"
            continue
        (folder / f"{len(outputs)}.jpg").write_bytes(outputs[relative(path)][0])
    return Published(folder, outputs)


@pytest.mark.slow
def test_every_decodable_corpus_image_is_published(published: Published) -> None:
    assert len(published.outputs) >= 30
    for output, result in published.outputs.values():
        assert result.format == "jpeg" and result.extension == ".jpg"
        assert result.notes[0].startswith("re-encoded") and "not lossless" in result.notes[0]
        with Image.open(io.BytesIO(output)) as image:
            assert image.format == "JPEG" and not image.getexif()


@pytest.mark.slow
def test_outputs_pass_the_oracle(published: Published) -> None:
    assert_no_leaks(published.folder)


@pytest.mark.slow
def test_source_icc_profile_is_carried(published: Published) -> None:
    carried = 0
    for name, (output, result) in published.outputs.items():
        source = (CORPUS / name).read_bytes()
        metadata, _decode = open_primary(source, avif_first=name.endswith(".avif"))
        with Image.open(io.BytesIO(output)) as image:
            assert_same_colours(metadata.icc, image.info.get("icc_profile"))
        carried += bool(metadata.icc)
        assert ("ICC profile" in result.kept) == bool(metadata.icc)
    assert carried >= 10


def test_rotated_iphone_photo_is_upright() -> None:
    output, result = clean(ROTATED_IPHONE.read_bytes())
    reference_file = pillow_heif.open_heif(ROTATED_IPHONE, convert_hdr_to_8bit=True)
    reference = reference_file[reference_file.primary_index].to_pillow()
    with Image.open(io.BytesIO(output)) as image:
        assert image.size == reference.size == (3024, 4032)
        small = image.convert("RGB").resize((96, 128))
    difference = ImageChops.difference(small, reference.convert("RGB").resize((96, 128)))
    assert max(ImageStat.Stat(difference).mean) < 4
    assert "EXIF:Orientation" in result.removed["orientation"]


@pytest.mark.parametrize("path", MOTION_PHOTOS, ids=relative)
def test_samsung_motion_photo_loses_its_video(path: Path, tmp_path: Path) -> None:
    assert any(box.kind == "mpvd" for box in layout(path.read_bytes()).boxes)
    output, result = clean(path.read_bytes())
    (tmp_path / "motion.jpg").write_bytes(output)
    assert_no_leaks(tmp_path)
    assert "HEIF mpvd box (motion-photo video)" in result.removed["trailer"]
    assert b"ftyp" not in output  # no embedded MP4 anywhere in the JPEG
    assert len(output) < path.stat().st_size


def test_thumbnails_and_auxiliary_images_are_named() -> None:
    source = CORPUS / "strukturag__libheif/fuzzing/data/corpus/colors-with-alpha-thumbnail.heic"
    _output, result = clean(source.read_bytes())
    assert result.removed["thumbnails"] == ("HEIF thumbnail image (item 3)",)
    assert len(result.removed["embedded_images"]) == 2


@pytest.mark.parametrize("path", FUZZ, ids=relative)
def test_fuzz_files_fail_cleanly_or_publish(path: Path) -> None:
    data = path.read_bytes()
    try:
        output, _result = clean(data)
    except (CorruptMedia, UnsupportedFormat):
        return
    with Image.open(io.BytesIO(output)) as image:
        image.load()


@pytest.mark.parametrize("size", [0, 8, 16, 40])
def test_tiny_heic_prefixes_are_refused(size: int) -> None:
    data = (CORPUS / "ianare__exif-samples/heic/samplefilehub.heif").read_bytes()[:size]
    with pytest.raises((CorruptMedia, UnsupportedFormat)):
        clean(data)


def test_colour_profile_removed_when_the_profile_says_so() -> None:
    profile = replace(STRICT, color_profile="remove")
    output, result = clean(SMALL_HEIC.read_bytes(), profile)
    with Image.open(io.BytesIO(output)) as image:
        assert "icc_profile" not in image.info
    assert result.removed["color_profile"] == ("ICC profile",)


@pytest.mark.parametrize("path", [SMALL_HEIC, SMALL_AVIF], ids=relative)
def test_keep_container_reencodes_without_metadata(path: Path) -> None:
    output, result = clean(path.read_bytes(), replace(STRICT, heif_output="keep"))
    assert result.format == "heif"
    assert result.extension == (".avif" if path.suffix == ".avif" else ".heic")
    assert {box.kind for box in layout(output).boxes} <= {"ftyp", "meta", "mdat", "free"}
    metadata, _decode = open_primary(output, avif_first=path.suffix == ".avif")
    assert metadata.exif is None and metadata.xmp is None


def test_video_is_not_claimed() -> None:
    for path in corpus_files("MP4", "MOV", "CR3", "JXL", "JP2"):
        if "fuzzing" in path.parts:
            continue  # libheif fuzz files list an image brand behind a blank major brand
        assert not HANDLER.sniff(path.read_bytes()[:64]), relative(path)


HEADER_SAMPLE = (CORPUS / "strukturag__libheif/tests/data/rainbow-451x461.heic").read_bytes()[:1500]


@settings(max_examples=200, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(HEADER_SAMPLE) - 1), st.integers(0, 255)), max_size=8))
def test_box_walk_of_mutated_headers_fails_cleanly(edits: list[tuple[int, int]]) -> None:
    mutated = bytearray(HEADER_SAMPLE)
    for position, value in edits:
        mutated[position] = value
    try:
        found = layout(bytes(mutated))
    except CorruptMedia:
        return
    assert sum(box.size for box in found.boxes) + found.tail == len(mutated)


@pytest.mark.parametrize("path", [SMALL_HEIC, SMALL_AVIF], ids=relative)
def test_pixel_limit_is_checked_before_decoding(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(TooLarge):
        clean(path.read_bytes())
