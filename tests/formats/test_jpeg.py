"""The JPEG handler against the real corpus: clean, verified, pixel-identical, leak-free."""

from __future__ import annotations

import io
import subprocess
import warnings
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageOps, ImageStat

from tests.conftest import CORPUS, LEAKCHECK, corpus_files
from tests.icc_helpers import assert_same_colours
from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats import jpeg_orient
from watcher.formats.exif import exif_orientation, read_exif
from watcher.formats.jpeg import HANDLER
from watcher.formats.jpeg_header import EXIF_PREFIX, XMP_PREFIX
from watcher.formats.jpeg_segments import Segment, SegmentReader
from watcher.rules.profile import CATEGORIES, FAMILY, STRICT, Profile

JPEGS = corpus_files("JPEG", "MPO")
BROKEN = [
    CORPUS / "python-pillow__Pillow/Tests/images/truncated_jpeg.jpg",
    CORPUS / "photoprism__photoprism/internal/thumb/testdata/broken.jpg",
    CORPUS / "photoprism__photoprism/internal/photoprism/testdata/broken/animated-earth.jpg",
    CORPUS / "Exiv2__exiv2/test/data/exiv2-bug1247.jpg",
    CORPUS / "Exiv2__exiv2/test/data/issue_853_poc.jpg",
]
# libjpeg decodes this one with a warning; its entropy data holds a reserved marker (0xFF9F), which is
# copied like the rest of the scan so the output decodes exactly as the source does.
DAMAGED_SCAN = CORPUS / "ianare__exif-samples/jpg/corrupted.jpg"
PIXEL_8 = CORPUS / "ente-io__motion_photos/assets/pixel_8.jpg"
MOTION_MP4 = CORPUS / "photoprism__photoprism/pkg/media/video/testdata/image-isom-avc1.jpg"
ORIENTATION_6 = CORPUS / "immich-app__test-assets/metadata/faces/portrait-orientation-6.jpg"


def _decoded(data: bytes) -> Image.Image | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about the odd MPO/EXIF headers the corpus holds
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                return image.copy()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def _clean(path: Path, profile: Profile = STRICT) -> bytes:
    output = io.BytesIO()
    with path.open("rb") as source:
        result = HANDLER.sanitize(source, output, profile)
        source.seek(0)
        HANDLER.verify(output, source, profile, result)
    return output.getvalue()


def _segments(data: bytes) -> list[tuple[str, bytes]]:
    reader = SegmentReader(io.BytesIO(data))
    return [(item.name, item.payload) for item in reader.segments() if not isinstance(item, bytes)]


def _exif(data: bytes) -> bytes | None:
    for name, payload in _segments(data):
        if name == "APP1" and payload.startswith(EXIF_PREFIX):
            return payload[len(EXIF_PREFIX) :]
    return None


@pytest.mark.parametrize("path", JPEGS, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_jpeg_is_cleaned_losslessly_or_refused(path: Path) -> None:
    source = path.read_bytes()
    before = _decoded(source)
    try:
        cleaned = _clean(path)
    except CorruptMedia:
        # Refusing is allowed only for files Pillow cannot decode either, or whose scan is damaged.
        assert before is None
        return
    assert cleaned.endswith(b"\xff\xd9"), "bytes after EOI"
    assert not any(name in ("COM", "APP13", "APP11") for name, _ in _segments(cleaned))
    after = _decoded(cleaned)
    if before is not None:
        assert after is not None
        assert (after.mode, after.size) == (before.mode, before.size)
        assert after.tobytes() == before.tobytes()
        assert_same_colours(before.info.get("icc_profile"), after.info.get("icc_profile"))
    exif = _exif(source)
    orientation = _orientation(exif)
    if orientation not in (None, 1):
        kept = _exif(cleaned)
        assert kept is not None and exif_orientation(kept) == orientation
    elif (kept := _exif(cleaned)) is not None:
        assert {finding.category for finding in read_exif(kept)} <= {"orientation"}


def _orientation(exif: bytes | None) -> int | None:
    try:
        return exif_orientation(exif) if exif else None
    except CorruptMedia:
        return None


@pytest.mark.parametrize("path", [PIXEL_8, MOTION_MP4], ids=lambda p: p.name)
def test_secondary_images_and_motion_video_are_dropped(path: Path) -> None:
    output = io.BytesIO()
    with path.open("rb") as source:
        result = HANDLER.sanitize(source, output, STRICT)
    cleaned = output.getvalue()
    assert cleaned.endswith(b"\xff\xd9")
    assert cleaned.count(b"\xff\xd8\xff") == 1, "a second image survived"
    assert b"ftyp" not in cleaned, "the motion-photo video survived"
    after_eoi = [*result.removed.get("trailer", ()), *result.removed.get("embedded_images", ())]
    assert any("after EOI" in name for name in after_eoi)


def test_samsung_seft_trailer_is_removed() -> None:
    samsung = [path for path in JPEGS if b"SEFT" in path.read_bytes()[-64:]]
    assert samsung, "the corpus should hold a Samsung SEFT trailer"
    for path in samsung:
        cleaned = _clean(path)
        assert b"SEFT" not in cleaned
        assert cleaned.endswith(b"\xff\xd9")


def test_leakcheck_finds_nothing_in_outputs(tmp_path: Path) -> None:
    for index, path in enumerate(JPEGS):
        try:
            (tmp_path / f"{index}.jpg").write_bytes(_clean(path))
        except CorruptMedia:
            continue
    completed = subprocess.run([str(LEAKCHECK), str(tmp_path)], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-3000:]


@pytest.mark.parametrize("path", BROKEN + corpus_files("EMPTY"), ids=lambda p: p.name)
def test_broken_files_raise_corrupt_media(path: Path) -> None:
    with path.open("rb") as source, pytest.raises(CorruptMedia):
        HANDLER.sanitize(source, io.BytesIO(), STRICT)
    with path.open("rb") as source, pytest.raises(CorruptMedia):
        HANDLER.inspect(source)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xe1\x00", b"\xff\xd8\xff\xd9", b"GIF89a"])
def test_tiny_inputs_raise_corrupt_media(data: bytes) -> None:
    with pytest.raises(CorruptMedia):
        HANDLER.sanitize(io.BytesIO(data), io.BytesIO(), STRICT)


def test_truncated_copies_of_a_real_file_raise_corrupt_media() -> None:
    data = ORIENTATION_6.read_bytes()
    for cut in (3, 20, 400, len(data) // 2, len(data) - 2):
        with pytest.raises(CorruptMedia):
            HANDLER.sanitize(io.BytesIO(data[:cut]), io.BytesIO(), STRICT)


def test_verify_rejects_an_output_with_a_comment_or_trailer() -> None:
    source = ORIENTATION_6.read_bytes()
    output = io.BytesIO()
    result = HANDLER.sanitize(io.BytesIO(source), output, STRICT)
    cleaned = output.getvalue()
    with_comment = cleaned[:2] + b"\xff\xfe\x00\x06hello" + cleaned[2:]
    flipped = cleaned[:-300] + bytes([cleaned[-300] ^ 0x01]) + cleaned[-299:]
    for tampered in (with_comment, cleaned + b"trailer", cleaned[:-200] + b"\xff\xd9", flipped):
        with pytest.raises(VerifyFailed):
            HANDLER.verify(io.BytesIO(tampered), io.BytesIO(source), STRICT, result)


PROGRESSIVE = CORPUS / "immich-app__test-assets/metadata/faces/portrait.jpg"


def _scan_starts(data: bytes) -> list[int]:
    """Where each scan's entropy-coded data starts in ``data``."""
    return [
        item.offset + 4 + len(item.payload)
        for item in SegmentReader(io.BytesIO(data)).segments()
        if not isinstance(item, bytes) and item.name == "SOS"
    ]


def test_verify_compares_every_scan_of_a_progressive_jpeg_with_the_source() -> None:
    source = PROGRESSIVE.read_bytes()
    output = io.BytesIO()
    result = HANDLER.sanitize(io.BytesIO(source), output, STRICT)
    cleaned = output.getvalue()
    starts = _scan_starts(cleaned)
    assert len(starts) > 2, "the sample must be progressive"
    HANDLER.verify(io.BytesIO(cleaned), io.BytesIO(source), STRICT, result)
    middle = starts[1] + 10
    longer = cleaned[:middle] + b"\x00" + cleaned[middle:]
    runs_on = cleaned[:-2] + b"\x12\x34" + cleaned[-2:]
    last_sos = cleaned.rfind(b"\xff\xda")
    a_scan_short = cleaned[:last_sos] + b"\xff\xd9"
    for tampered in (longer, runs_on, a_scan_short):
        with pytest.raises(VerifyFailed):
            HANDLER.verify(io.BytesIO(tampered), io.BytesIO(source), STRICT, result)


def test_scans_are_found_in_a_source_read_from_the_middle_of_a_stream() -> None:
    stream = io.BytesIO(b"x" * 1000 + ORIENTATION_6.read_bytes())
    stream.seek(1000)
    output = io.BytesIO()
    result = HANDLER.sanitize(stream, output, STRICT)
    HANDLER.verify(output, stream, STRICT, result)  # raises if the noted scans point at the wrong bytes


def test_inspect_sorts_every_corpus_finding_into_a_category() -> None:
    inspected = 0
    for path in JPEGS:
        try:
            with path.open("rb") as source:
                inventory = HANDLER.inspect(source)
        except CorruptMedia:
            continue
        inspected += 1
        assert all(finding.category in CATEGORIES for finding in inventory.findings)
    assert inspected > 200


def test_inspect_lists_metadata_and_size() -> None:
    with (CORPUS / "ianare__exif-samples/jpg/gps/DSCN0010.jpg").open("rb") as source:
        inventory = HANDLER.inspect(source)
    categories = {finding.category for finding in inventory.findings}
    assert {"location", "device", "time", "maker_notes", "thumbnails"} <= categories
    assert inventory.width and inventory.height


def test_family_profile_keeps_dates_without_time_of_day() -> None:
    cleaned = _clean(CORPUS / "ianare__exif-samples/jpg/gps/DSCN0010.jpg", FAMILY)
    exif = _exif(cleaned)
    assert exif is not None
    findings = read_exif(exif)
    assert {finding.category for finding in findings} <= {"time", "camera_settings", "text", "orientation"}
    dates = [finding.value for finding in findings if finding.category == "time"]
    assert dates and all(value and value.endswith(" 00:00:00") for value in dates)


@pytest.mark.parametrize("jpegtran", [True, False], ids=["jpegtran", "pillow"])
def test_orientation_apply_gives_upright_pixels(jpegtran: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if not jpegtran:
        monkeypatch.setattr(jpeg_orient, "_jpegtran", lambda *_arguments: False)
    profile = Profile(orientation="apply")
    output = io.BytesIO()
    with ORIENTATION_6.open("rb") as source:
        result = HANDLER.sanitize(source, output, profile)
        source.seek(0)
        HANDLER.verify(output, source, profile, result)
    cleaned = output.getvalue()
    exif = _exif(cleaned)
    assert exif is None or exif_orientation(exif) is None
    with Image.open(ORIENTATION_6) as image:
        expected = ImageOps.exif_transpose(image).convert("RGB")
    actual = _decoded(cleaned)
    assert actual is not None and actual.size == expected.size
    assert result.lossless is jpegtran
    difference = ImageChops.difference(actual.convert("RGB"), expected).convert("L")
    # jpegtran rotates the DCT blocks: only rounding differs. A re-encode differs a little everywhere.
    _low, largest = cast(tuple[int, int], difference.getextrema())  # one band: (low, high)
    mean = ImageStat.Stat(difference).mean[0]
    assert largest <= 2 if jpegtran else mean < 3


SMALL = [path for path in JPEGS if path.stat().st_size < 12_000]


@given(
    path=st.sampled_from(SMALL),
    flips=st.lists(st.tuples(st.integers(0, 12_000), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, 12_000),
)
@settings(max_examples=300, deadline=None)
def test_mutated_jpegs_are_cleaned_and_verified_or_refused(
    path: Path, flips: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(path.read_bytes()[: max(cut, 2)])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    output = io.BytesIO()
    try:
        result = HANDLER.sanitize(io.BytesIO(bytes(data)), output, FAMILY)
    except CorruptMedia:
        return
    HANDLER.verify(output, io.BytesIO(bytes(data)), FAMILY, result)


def test_family_profile_keeps_captions_in_a_fresh_xmp_packet() -> None:
    path = CORPUS / "MikeKovarik__exifr/test/fixtures/Bush-dog.jpg"
    output = io.BytesIO()
    with path.open("rb") as source:
        result = HANDLER.sanitize(source, output, FAMILY)
    assert {"XMP:dc:title", "XMP:dc:description"} <= set(result.kept)
    output.seek(0)
    inventory = HANDLER.inspect(output)
    assert {finding.category for finding in inventory.findings} <= FAMILY.kept_categories()
    xmp = [payload for name, payload in _segments(output.getvalue()) if payload.startswith(XMP_PREFIX)]
    assert len(xmp) == 1
    old = Segment(0xE1, xmp[0], 0).encoded()
    new = Segment(0xE1, xmp[0].replace(b"dc:title>", b"dc:creator>"), 0).encoded()
    tampered = output.getvalue().replace(old, new)
    with pytest.raises(VerifyFailed, match="copyright"), path.open("rb") as source:
        HANDLER.verify(io.BytesIO(tampered), source, FAMILY, result)


def test_a_damaged_scan_is_copied_as_is_and_decodes_like_the_source() -> None:
    cleaned = _clean(DAMAGED_SCAN)
    before, after = _decoded(DAMAGED_SCAN.read_bytes()), _decoded(cleaned)
    assert before is not None and after is not None
    assert after.tobytes() == before.tobytes()
