"""Structure checks for the image-coding segments a cleaned JPEG keeps (frames, scans, tables).

They are copied byte for byte, so each must be exactly what its marker says it is: a length field that
is too long would carry the bytes after it (a swallowed EOI, then the trailers with their metadata) into
the output as "image data", where no reader of ours would look for them.
"""

from __future__ import annotations

from collections.abc import Callable

from watcher.errors import CorruptMedia
from watcher.formats.jpeg_segments import SOF_MARKERS, SOS, Segment

DHT, DQT, DRI = 0xC4, 0xDB, 0xDD


def check_coding_segment(segment: Segment) -> None:
    """Raise CorruptMedia unless ``segment``'s payload is exactly the structure its marker defines."""
    payload, marker = segment.payload, segment.marker
    if marker == SOS:
        expected = 1 + 2 * payload[0] + 3 if payload else 0
        _require(segment, bool(payload) and 1 <= payload[0] <= 4 and len(payload) == expected)
    elif marker in SOF_MARKERS:
        _require(segment, len(payload) >= 6 and len(payload) == 6 + 3 * payload[5])
    elif marker == DQT:
        _require(segment, _tables_fit(payload, _quantization_table_size))
    elif marker == DHT:
        _require(segment, _tables_fit(payload, _huffman_table_size))
    elif marker == DRI:
        _require(segment, len(payload) == 2)


def _require(segment: Segment, valid: bool) -> None:
    if not valid:
        raise CorruptMedia(
            f"{segment.name} segment at byte {segment.offset} does not match its structure "
            f"({len(segment.payload)} bytes): corrupt or crafted file"
        )


def _tables_fit(payload: bytes, table_size: Callable[[bytes, int], int | None]) -> bool:
    """The payload is one or more whole tables, with nothing left over."""
    position = 0
    while position < len(payload):
        size = table_size(payload, position)
        if size is None or position + size > len(payload):
            return False
        position += size
    return position == len(payload) and position > 0


def _quantization_table_size(payload: bytes, position: int) -> int | None:
    precision, identifier = payload[position] >> 4, payload[position] & 0x0F
    if precision > 1 or identifier > 3:
        return None
    return 1 + 64 * (precision + 1)


def _huffman_table_size(payload: bytes, position: int) -> int | None:
    table_class, identifier = payload[position] >> 4, payload[position] & 0x0F
    if table_class > 1 or identifier > 3 or position + 17 > len(payload):
        return None
    values = sum(payload[position + 1 : position + 17])
    return None if values > 256 else 17 + values
