"""TIFF: only the first image's structure survives, its strips/tiles are copied byte for byte, RAW is refused."""

from __future__ import annotations

import io
import struct
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, TiffImagePlugin

from tests.conftest import CORPUS, corpus_files
from tests.icc_helpers import srgb_profile
from tests.oracle import assert_no_leaks
from watcher.errors import CorruptMedia, UnsupportedFormat, VerifyFailed
from watcher.formats.tiff import HANDLER
from watcher.formats.tiff_pixels import decode_pixels
from watcher.formats.tiff_structure import image_data, read_chain, read_header
from watcher.formats.tiff_tags import STRUCTURAL, allowed_tags
from watcher.rules.profile import STRICT, Profile

TIFFS = corpus_files("TIFF")
RAWS = corpus_files("DNG", "CR2", "NEF", "RW2", "RAW")
# Corpus TIFFs that are fuzz/PoC files, each refused for its own reason.
REFUSED = {
    "Exiv2__exiv2/test/data/2018-01-09-exiv2-crash-001.tiff": UnsupportedFormat,  # BigTIFF magic
    "Exiv2__exiv2/test/data/pocIssue283.jpg": UnsupportedFormat,  # Panasonic RW2 magic
    "Exiv2__exiv2/test/data/cve_2017_18005_reproducer.tiff": CorruptMedia,
    "python-pillow__Pillow/Tests/images/crash-2020-10-test.tif": CorruptMedia,
}


def clean(data: bytes, profile: Profile = STRICT) -> tuple[bytes, dict[str, tuple[str, ...]]]:
    output = io.BytesIO()
    result = HANDLER.sanitize(io.BytesIO(data), output, profile)
    HANDLER.verify(io.BytesIO(output.getvalue()), io.BytesIO(data), profile, result)
    assert result.lossless and result.extension == ".tif"
    return output.getvalue(), dict(result.removed)


def tags_of(data: bytes) -> set[int]:
    header = read_header(data)
    pages = read_chain(data, header)
    assert len(pages) == 1
    return {entry.tag for entry in pages[0].entries}


def relative(path: Path) -> str:
    return path.relative_to(CORPUS).as_posix()


@pytest.mark.parametrize("path", TIFFS, ids=relative)
def test_corpus_tiff_is_published_losslessly_or_refused(path: Path, tmp_path: Path) -> None:
    data = path.read_bytes()
    expected_error = REFUSED.get(relative(path))
    if expected_error is not None:
        with pytest.raises(expected_error):
            clean(data)
        return
    output, _removed = clean(data)
    assert tags_of(output) <= allowed_tags(STRICT)
    source_pixels = decode_pixels(data)
    if source_pixels is not None:
        assert decode_pixels(output) == source_pixels


def test_corpus_tiff_outputs_pass_the_oracle(tmp_path: Path) -> None:
    published = 0
    for path in TIFFS:
        if relative(path) not in REFUSED:
            (tmp_path / f"{published}.tif").write_bytes(clean(path.read_bytes())[0])
            published += 1
    assert published == len(TIFFS) - len(REFUSED)
    assert_no_leaks(tmp_path)


def test_removed_items_are_named_by_category() -> None:
    data = (CORPUS / "MikeKovarik__exifr/test/fixtures/Bush-dog.tif").read_bytes()
    _output, removed = clean(data)
    assert "EXIF:Software" in removed["device"]
    assert "EXIF:Artist" in removed["copyright"]
    assert "XMP:photoshop:City" in removed["location"]
    assert "XMP:xmpMM:DocumentID" in removed["identifiers"]
    _output, removed = clean((CORPUS / "MikeKovarik__exifr/test/fixtures/001.tif").read_bytes())
    assert "EXIF:GPSLatitude" in removed["location"]


@pytest.mark.parametrize("path", RAWS, ids=relative)
def test_raw_camera_files_are_refused_with_their_kind(path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match=r"RAW camera file \((DNG|Canon CR2|NEF|Panasonic RW2)\)"):
        clean(path.read_bytes())


def test_bigtiff_is_refused() -> None:
    with pytest.raises(UnsupportedFormat, match="BigTIFF"):
        clean((CORPUS / "exiftool__exiftool/t/images/BigTIFF.btf").read_bytes())


def generated_tiff(pages: int = 1, **save_options: object) -> bytes:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[271] = "Phone Maker"
    info[315] = "A. Person"
    info[274] = 6
    info[306] = "2024:01:02 03:04:05"
    frames = [Image.linear_gradient("L").resize((64, 48)).convert("RGB") for _ in range(pages)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        "TIFF",
        tiffinfo=info,
        save_all=True,
        append_images=frames[1:],
        icc_profile=srgb_profile(),
        **save_options,
    )
    return buffer.getvalue()


def test_generated_tiff_keeps_orientation_and_structure_only() -> None:
    output, removed = clean(generated_tiff())
    assert tags_of(output) == (tags_of(generated_tiff()) & set(STRUCTURAL)) | {274, 34675}
    assert removed["device"] == ("EXIF:Make",)
    assert removed["time"] == ("EXIF:DateTime", "ICC creation date")


def test_profile_that_removes_colour_and_keeps_device() -> None:
    profile = replace(STRICT, color_profile="remove", device="keep", orientation="keep")
    output, removed = clean(generated_tiff(), profile)
    assert 34675 not in tags_of(output) and 271 in tags_of(output)
    assert "EXIF:ICC_Profile" in removed["color_profile"]


def test_further_pages_are_dropped_and_named() -> None:
    output, removed = clean(generated_tiff(pages=3))
    assert removed["embedded_images"] == ("TIFF page 2", "TIFF page 3")
    assert len(read_chain(output, read_header(output))) == 1


@pytest.mark.parametrize("compression", ["raw", "tiff_lzw", "tiff_adobe_deflate", "packbits"])
def test_compressed_strips_are_copied_byte_for_byte(compression: str) -> None:
    source = generated_tiff(compression=compression)
    output, _removed = clean(source)
    digests = []
    for data in (source, output):
        header = read_header(data)
        digests.append(image_data(data, read_chain(data, header)[0], header.order).digest(data))
    assert digests[0] == digests[1]


def test_verify_rejects_an_output_with_a_leftover_tag() -> None:
    source = generated_tiff()
    result = HANDLER.sanitize(io.BytesIO(source), io.BytesIO(), STRICT)
    with pytest.raises(VerifyFailed, match="Make"):
        HANDLER.verify(io.BytesIO(source), io.BytesIO(source), STRICT, result)


def test_truncated_strip_is_corrupt() -> None:
    source = generated_tiff()
    header = read_header(source)
    end = max(o + n for o, n in image_data(source, read_chain(source, header)[0], header.order).blocks)
    with pytest.raises(CorruptMedia):
        clean(source[: end - 10])


def test_ifd_loop_does_not_hang() -> None:
    source = bytearray(generated_tiff())
    header = read_header(bytes(source))
    ifd0 = read_chain(bytes(source), header)[0]
    next_pointer = ifd0.offset + 2 + 12 * len(ifd0.entries)
    struct.pack_into("<I", source, next_pointer, ifd0.offset)  # IFD0 points to itself
    output, _removed = clean(bytes(source))
    assert len(read_chain(output, read_header(output))) == 1


SMALL = generated_tiff(pages=2)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.integers(0, min(len(SMALL), 600) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_mutated_headers_and_directories_fail_cleanly(edits: list[tuple[int, int]]) -> None:
    mutated = bytearray(SMALL)
    for position, value in edits:
        mutated[position] = value
    try:
        output, _removed = clean(bytes(mutated))
    except (CorruptMedia, UnsupportedFormat, VerifyFailed):
        # VerifyFailed is failing closed: e.g. a mutated tag the keep-list drops changed how the
        # source decodes, so the output's pixels differ and nothing is published.
        return
    assert tags_of(output) <= allowed_tags(STRICT)


def test_apply_orientation_keeps_the_tag_with_a_note() -> None:
    profile = replace(STRICT, orientation="apply")
    output = io.BytesIO()
    result = HANDLER.sanitize(io.BytesIO(generated_tiff()), output, profile)
    HANDLER.verify(io.BytesIO(output.getvalue()), io.BytesIO(generated_tiff()), profile, result)
    assert 274 in tags_of(output.getvalue())
    assert result.notes == ("orientation kept as a tag: TIFF image data is copied, never rotated",)


def test_appended_bytes_fail_verification() -> None:
    source = generated_tiff()
    output = io.BytesIO()
    result = HANDLER.sanitize(io.BytesIO(source), output, STRICT)
    with pytest.raises(VerifyFailed, match="outside"):
        HANDLER.verify(io.BytesIO(output.getvalue() + b"GPS 48.85"), io.BytesIO(source), STRICT, result)


def test_tiff_heads_are_claimed_by_the_tiff_handler() -> None:
    for head in (b"II*\0\x08\0\0\0", b"MM\0*\0\0\0\x08", b"IIU\0\x08\0\0\0", b"II+\0\x08\0\0\0"):
        assert HANDLER.sniff(head)
    assert not HANDLER.sniff(b"\xff\xd8\xff\xe0")


def test_overlapping_strips_are_corrupt() -> None:
    buffer = io.BytesIO()
    Image.new("L", (64, 64)).save(buffer, "TIFF", tiffinfo={278: 1})  # one strip per row: 64 strips
    source = bytearray(buffer.getvalue())
    header = read_header(bytes(source))
    ifd0 = read_chain(bytes(source), header)[0]
    # Every strip claims the same half of the file: in bounds one by one, 32 times the file together.
    for index, entry in enumerate(ifd0.entries):
        if entry.tag in (273, 279):
            assert entry.field_type == 4
            value_offset = struct.unpack_from("<I", source, ifd0.offset + 2 + 12 * index + 8)[0]
            value = 8 if entry.tag == 273 else len(source) // 2
            struct.pack_into(f"<{entry.count}I", source, value_offset, *[value] * entry.count)
    with pytest.raises(CorruptMedia, match="overlap"):
        clean(bytes(source))
