"""The ISO-BMFF box reader: sizes, nesting, caps, and hostile headers."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.errors import CorruptMedia
from watcher.formats.bmff import Budget, read_payload, top_level, walk


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def large_box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload


def types(data: bytes) -> list[tuple[str, ...]]:
    return [
        (*(kind.decode("latin-1") for kind in path), found.name) for path, found in walk(io.BytesIO(data))
    ]


MOVIE = box(b"ftyp", b"isom\0\0\0\0isom") + box(
    b"moov", box(b"mvhd", bytes(100)) + box(b"trak", box(b"tkhd", bytes(84)) + box(b"udta", box(b"\xa9xyz")))
)


def test_nested_boxes_are_walked_parents_first() -> None:
    assert types(MOVIE) == [
        ("ftyp",),
        ("moov",),
        ("moov", "mvhd"),
        ("moov", "trak"),
        ("moov", "trak", "tkhd"),
        ("moov", "trak", "udta"),
        ("moov", "trak", "udta", "©xyz"),
    ]


def test_64_bit_size_and_size_zero_to_end() -> None:
    data = large_box(b"mdat", b"x" * 20) + struct.pack(">I4s", 0, b"free") + b"tail bytes"
    boxes = top_level(io.BytesIO(data))
    assert [(found.name, found.size, found.header) for found in boxes] == [("mdat", 36, 16), ("free", 18, 8)]
    assert read_payload(io.BytesIO(data), boxes[0]) == b"x" * 20


def test_uuid_header_includes_user_type() -> None:
    found = top_level(io.BytesIO(box(b"uuid", bytes(16) + b"data")))[0]
    assert (found.header, found.start) == (24, 24)


def test_quicktime_zero_terminator_inside_a_container_is_accepted() -> None:
    data = box(b"moov", box(b"mvhd", bytes(4)) + bytes(4))
    assert types(data) == [("moov",), ("moov", "mvhd")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (box(b"moov")[:6], "stray bytes"),
        (struct.pack(">I4s", 4, b"moov"), "smaller than its own header"),
        (struct.pack(">I4s", 100, b"moov") + bytes(10), "runs past the end"),
        (box(b"moov", struct.pack(">I4s", 50, b"trak")), "runs past the end"),
        (struct.pack(">I4s", 1, b"mdat") + bytes(4), "64-bit size"),
        (box(b"free") + b"\0\0\0", "stray bytes"),
    ],
)
def test_broken_structures_raise_corrupt_media(data: bytes, reason: str) -> None:
    with pytest.raises(CorruptMedia, match=reason):
        list(walk(io.BytesIO(data)))


def test_nesting_depth_is_capped() -> None:
    data = box(b"free")
    for _ in range(40):
        data = box(b"moov", data)
    with pytest.raises(CorruptMedia, match="nested deeper"):
        list(walk(io.BytesIO(data)))


def test_box_count_is_capped() -> None:
    data = box(b"free") * 1000
    with pytest.raises(CorruptMedia, match="more boxes"):
        list(walk(io.BytesIO(data), budget=Budget(100)))


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(MOVIE) - 1),
    replacement=st.binary(min_size=1, max_size=8),
)
def test_mutated_headers_parse_or_raise_corrupt_media(position: int, replacement: bytes) -> None:
    mutated = MOVIE[:position] + replacement + MOVIE[position + len(replacement) :]
    try:
        found = list(walk(io.BytesIO(mutated)))
    except CorruptMedia:
        return
    assert all(0 <= item.offset < item.end <= len(mutated) for _path, item in found)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_parse_or_raise_corrupt_media(data: bytes) -> None:
    try:
        found = list(walk(io.BytesIO(data)))
    except CorruptMedia:
        return
    assert sum(item.size for path, item in found if not path) == len(data)
