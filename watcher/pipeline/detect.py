"""Detection by content, and the cheap structural completeness check the daemon uses while files settle."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from watcher.formats.base import Handler
from watcher.formats.registry import SNIFF_BYTES, handler_for

_TAIL = 1 << 20
_MAX_TOP_BOXES = 100_000


def detect(stream: BinaryIO) -> tuple[Handler | None, bytes]:
    """The handler for ``stream`` by its first bytes, and those bytes. Leaves the position at 0."""
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    return handler_for(head), head


def _jpeg_complete(stream: BinaryIO, size: int) -> bool:
    stream.seek(max(0, size - _TAIL))
    tail = stream.read()
    # A plain JPEG ends with EOI; motion photos end with an MP4 or a Samsung SEFT trailer after it.
    return tail.endswith(b"\xff\xd9") or tail.endswith(b"SEFT") or b"ftyp" in tail


def _png_complete(stream: BinaryIO, size: int) -> bool:
    stream.seek(max(0, size - _TAIL))
    return b"IEND" in stream.read()


def _bmff_complete(stream: BinaryIO, size: int) -> bool:
    """Top-level boxes tile the file exactly and one of them is `moov` (or `meta` for HEIF)."""
    offset, found, count = 0, False, 0
    while offset < size and count < _MAX_TOP_BOXES:
        stream.seek(offset)
        header = stream.read(16)
        if len(header) < 8:
            return False
        box_size, box_type = struct.unpack(">I4s", header[:8])
        if box_size == 1 and len(header) == 16:
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:
            box_size = size - offset
        if box_size < 8:
            return False
        found = found or box_type in (b"moov", b"meta")
        offset += box_size
        count += 1
    return found and offset == size


def is_complete(path: Path) -> bool:
    """A hint for settling: does the file look structurally finished? Unknown formats count as finished;
    the sanitizer makes the final call either way."""
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
            size = path.stat().st_size
            if head.startswith(b"\xff\xd8\xff"):
                return _jpeg_complete(stream, size)
            if head.startswith(b"\x89PNG\r\n\x1a\n"):
                return _png_complete(stream, size)
            if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free"):
                return _bmff_complete(stream, size)
            return size > 0
    except OSError:
        return False


def describe_unsupported(head: bytes, size: int) -> str:
    """The refusal reason for a file no handler claims."""
    from watcher.formats.unsupported import describe

    return f"{describe(head, size)}: not published by default"
