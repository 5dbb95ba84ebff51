"""The EXIF reader and keep-list writer on real EXIF blocks, intact and mutated."""

from __future__ import annotations

import struct
from pathlib import Path

import piexif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import corpus_files
from watcher.errors import CorruptMedia
from watcher.formats.exif import exif_orientation, filter_exif, parse_exif, read_exif
from watcher.formats.jpeg_header import EXIF_PREFIX
from watcher.formats.jpeg_segments import SOS, SegmentReader
from watcher.rules.profile import CATEGORIES, FAMILY, STRICT, Profile

KEEP_ALL = Profile(
    name="all",
    location="keep",
    time="keep",
    device="keep",
    camera_settings="keep",
    people="keep",
    text="keep",
    copyright="keep",
)


def _first_exif(path: Path) -> bytes | None:
    try:
        with path.open("rb") as handle:
            for item in SegmentReader(handle).segments():
                if isinstance(item, bytes) or item.marker == SOS:
                    return None
                if item.marker == 0xE1 and item.payload.startswith(EXIF_PREFIX):
                    return item.payload[len(EXIF_PREFIX) :]
    except CorruptMedia:
        return None
    return None


BLOCKS = [block for path in corpus_files("JPEG", "MPO") if (block := _first_exif(path))]


def _readable(block: bytes) -> bool:
    try:
        parse_exif(block)
    except CorruptMedia:
        return False
    return True


READABLE = [block for block in BLOCKS if _readable(block)]


def test_corpus_has_many_exif_blocks() -> None:
    assert len(READABLE) > 150


def test_every_tag_gets_a_known_category() -> None:
    for block in READABLE:
        for finding in read_exif(block):
            assert finding.category in CATEGORIES
            assert finding.name.startswith("EXIF:")


def test_tag_ids_agree_with_piexif() -> None:
    compared = 0
    for block in READABLE:
        try:
            reference = piexif.load(EXIF_PREFIX + block)
        except Exception:
            continue
        entries = parse_exif(block).entries
        for ifd, key in (("IFD0", "0th"), ("GPS", "GPS")):
            ours = {entry.tag for entry in entries if entry.ifd == ifd and entry.raw is not None}
            theirs = set(reference[key]) - {0x8769, 0x8825, 0xA005}
            assert theirs <= ours | {entry.tag for entry in entries if entry.ifd == ifd}
        compared += 1
    assert compared > 100


def test_strict_keeps_at_most_a_rotating_orientation() -> None:
    for block in READABLE:
        filtered = filter_exif(block, STRICT)
        orientation = exif_orientation(block)
        if orientation in (None, 1):
            assert filtered.data is None
        else:
            assert filtered.kept == ("EXIF:Orientation",)
            assert filtered.data is not None and exif_orientation(filtered.data) == orientation
            assert [finding.name for finding in read_exif(filtered.data)] == ["EXIF:Orientation"]


@pytest.mark.parametrize("profile", [FAMILY, KEEP_ALL], ids=["family", "keep-all"])
def test_filtered_exif_holds_only_kept_categories(profile: Profile) -> None:
    kept_any = 0
    for block in READABLE:
        filtered = filter_exif(block, profile)
        if filtered.data is None:
            continue
        kept_any += 1
        assert piexif.load(EXIF_PREFIX + filtered.data)  # other readers accept what we write
        findings = read_exif(filtered.data)
        assert {finding.category for finding in findings} <= profile.kept_categories()
        assert len(findings) == len(filtered.kept)
    assert kept_any > 100


def test_time_date_keeps_the_day_only() -> None:
    for block in READABLE:
        filtered = filter_exif(block, FAMILY)
        if filtered.data is None:
            continue
        for finding in read_exif(filtered.data):
            if finding.category == "time":
                assert finding.name in ("EXIF:DateTimeOriginal", "EXIF:CreateDate", "EXIF:ModifyDate")
                assert finding.value is not None and finding.value.endswith(" 00:00:00")


def test_always_removed_categories_never_survive() -> None:
    removed: set[str] = set()
    for block in READABLE:
        filtered = filter_exif(block, KEEP_ALL)
        removed |= set(filtered.removed)
    assert {"identifiers", "maker_notes", "thumbnails"} <= removed


def _tiff(entries: list[tuple[int, int, int, bytes]], next_ifd: int = 0) -> bytes:
    body = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
    return b"II*\0" + struct.pack("<I", 8) + body + struct.pack("<I", next_ifd)


def test_ifd_loop_is_refused() -> None:
    with pytest.raises(CorruptMedia, match="loop"):
        parse_exif(_tiff([(0x0112, 3, 1, b"\x06\0")], next_ifd=8))


def test_absurd_entry_count_is_refused() -> None:
    with pytest.raises(CorruptMedia, match="entries"):
        parse_exif(b"II*\0\x08\0\0\0\xff\xff" + b"\0" * 64)


def test_sub_ifd_out_of_range_is_dropped_not_followed() -> None:
    block = _tiff([(0x0112, 3, 1, b"\x03\0"), (0x8825, 4, 1, struct.pack("<I", 10_000))])
    findings = read_exif(block)
    assert ("location", "EXIF:GPS (unreadable)") in {(f.category, f.name) for f in findings}
    assert exif_orientation(block) == 3
    assert filter_exif(block, KEEP_ALL).kept == ("EXIF:Orientation",)


def test_value_outside_the_block_is_never_kept() -> None:
    block = _tiff([(0x010F, 2, 400, struct.pack("<I", 9_999))])
    assert filter_exif(block, KEEP_ALL).data is None


@given(
    block=st.sampled_from(READABLE),
    flips=st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 70_000),
)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_blocks_fail_only_with_corrupt_media(
    block: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    mutated = bytearray(block[:cut])
    for position, value in flips:
        if position < len(mutated):
            mutated[position] = value
    try:
        read_exif(bytes(mutated))
        exif_orientation(bytes(mutated))
        filtered = filter_exif(bytes(mutated), FAMILY)
    except CorruptMedia:
        return
    if filtered.data is not None:
        categories = {finding.category for finding in read_exif(filtered.data)}
        assert categories <= FAMILY.kept_categories()


@given(block=st.sampled_from(READABLE), count=st.integers(0, 2**32 - 1), slot=st.integers(0, 40))
@settings(max_examples=200, deadline=None)
def test_forged_counts_and_offsets_fail_only_with_corrupt_media(block: bytes, count: int, slot: int) -> None:
    order = "<" if block[:2] == b"II" else ">"
    (ifd0,) = struct.unpack(order + "I", block[4:8])
    # Overwrite the count or the value/offset field of one IFD0 entry with an arbitrary number.
    position = ifd0 + 2 + 12 * (slot // 2) + (4 if slot % 2 == 0 else 8)
    if position + 4 > len(block):
        return
    forged = block[:position] + struct.pack(order + "I", count) + block[position + 4 :]
    try:
        filtered = filter_exif(forged, KEEP_ALL)
    except CorruptMedia:
        return
    if filtered.data is not None:
        assert {f.category for f in read_exif(filtered.data)} <= KEEP_ALL.kept_categories()
