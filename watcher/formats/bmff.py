"""The project's own ISO base media file format (MP4/MOV/3GP/HEIF) box reader.

It reads box headers only, streaming from a binary file, so memory does not grow with the file. Every
size is checked against its parent before it is trusted; nesting depth and box count are capped, so a
hostile file ends in CorruptMedia rather than a hang or a traceback.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from watcher.errors import CorruptMedia, TooLarge

MAX_DEPTH = 24
MAX_BOXES = 500_000
# The largest payload read into memory at once (a moov of an hour-long recording stays well below).
MAX_PAYLOAD = 64 * 1024 * 1024

# Boxes whose payload is nothing but child boxes.
CONTAINERS: frozenset[bytes] = frozenset(
    {
        b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex", b"moof",
        b"traf", b"tref", b"ilst", b"tapt", b"sinf", b"schi", b"gmhd", b"wave", b"clip", b"matt",
        b"iprp", b"ipco", b"meco", b"mfra", b"strk", b"strd", b"rinf", b"grpl",
    }
)  # fmt: skip
# Full boxes (4 bytes version/flags) whose payload after that is child boxes.
FULL_CONTAINERS: dict[bytes, int] = {b"dref": 8, b"stsd": 8, b"iinf": 6, b"iref": 4}
VISUAL_ENTRIES: frozenset[bytes] = frozenset(
    {
        b"avc1", b"avc2", b"avc3", b"avc4", b"hvc1", b"hev1", b"dvh1", b"dvhe", b"dva1", b"dvav", b"av01",
        b"vp08", b"vp09", b"mp4v", b"s263", b"h263", b"jpeg", b"mjpa", b"mjpb", b"mjp2", b"ap4h", b"ap4x",
        b"apch", b"apcn", b"apcs", b"apco", b"encv", b"raw ", b"rle ", b"SVQ3", b"dvc ", b"dvcp", b"CFHD",
    }
)  # fmt: skip
AUDIO_ENTRIES: frozenset[bytes] = frozenset(
    {
        b"mp4a", b"lpcm", b"sowt", b"twos", b"ac-3", b"ec-3", b"ac-4", b"alac", b"samr", b"sawb", b"Opus",
        b"fLaC", b"ulaw", b"alaw", b"ima4", b"in24", b"in32", b"fl32", b"fl64", b"enca", b".mp3", b"mha1",
        b"mhm1", b"dtsc", b"dtsh", b"dtsl", b"sqcp", b"raw ", b"NONE",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Box:
    """One box: where it starts, how long it is, and how long its header is (8, 16, or more for uuid)."""

    type: bytes
    offset: int
    size: int
    header: int

    @property
    def start(self) -> int:
        """Offset of the payload."""
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size

    @property
    def name(self) -> str:
        """The type as text, e.g. ``moov``, ``©xyz``; unprintable types are shown in hex."""
        text = self.type.decode("latin-1")
        return text if text.isprintable() else f"0x{self.type.hex()}"


class Budget:
    """Counts boxes across one walk so a file of millions of tiny boxes stops early."""

    def __init__(self, limit: int = MAX_BOXES) -> None:
        self.remaining = limit

    def spend(self) -> None:
        self.remaining -= 1
        if self.remaining < 0:
            raise CorruptMedia("the file holds more boxes than any real video needs (hostile or corrupt)")


def file_size(source: BinaryIO) -> int:
    return source.seek(0, 2)


def read_exact(source: BinaryIO, offset: int, length: int) -> bytes:
    source.seek(offset)
    data = source.read(length)
    if len(data) != length:
        raise CorruptMedia("the file ends in the middle of a box (truncated)")
    return data


def iter_boxes(
    source: BinaryIO, start: int, end: int, budget: Budget | None = None, *, nested: bool = False
) -> Iterator[Box]:
    """Yield the boxes laid end to end in ``[start, end)``; raise CorruptMedia when one does not fit.

    ``nested`` accepts the short zero terminator QuickTime writers leave at the end of a child list.
    """
    budget = budget or Budget()
    position = start
    while position < end:
        budget.spend()
        if end - position < 8:
            if nested and read_exact(source, position, end - position).count(0) == end - position:
                return
            raise CorruptMedia(f"{end - position} stray bytes where a box header should be")
        size, kind = struct.unpack(">I4s", read_exact(source, position, 8))
        header = 8
        if size == 1:
            if end - position < 16:
                raise CorruptMedia(f"box {_show(kind)} is cut before its 64-bit size")
            size = struct.unpack(">Q", read_exact(source, position + 8, 8))[0]
            header = 16
        elif size == 0:
            size = end - position
        if kind == b"uuid":
            header += 16
        if size < header:
            raise CorruptMedia(f"box {_show(kind)} declares a size smaller than its own header")
        if position + size > end:
            raise CorruptMedia(f"box {_show(kind)} runs past the end of its parent (truncated file?)")
        yield Box(kind, position, size, header)
        position += size


def children_start(source: BinaryIO, box: Box) -> int | None:
    """Where the child boxes of ``box`` start, or None when its payload is not made of boxes."""
    if box.type in CONTAINERS:
        return box.start
    if box.type in FULL_CONTAINERS:
        return box.start + FULL_CONTAINERS[box.type]
    if box.type == b"meta":
        return _meta_children(source, box)
    if box.type in VISUAL_ENTRIES:
        return box.start + 78
    if box.type in AUDIO_ENTRIES:
        return _audio_children(source, box)
    return None


def walk(
    source: BinaryIO,
    start: int = 0,
    end: int | None = None,
    *,
    budget: Budget | None = None,
    max_depth: int = MAX_DEPTH,
) -> Iterator[tuple[tuple[bytes, ...], Box]]:
    """Yield ``(path of ancestor types, box)`` for every box, parents before their children."""
    budget = budget or Budget()
    stop = file_size(source) if end is None else end
    yield from _walk(source, start, stop, (), budget, max_depth)


def _walk(
    source: BinaryIO, start: int, end: int, path: tuple[bytes, ...], budget: Budget, max_depth: int
) -> Iterator[tuple[tuple[bytes, ...], Box]]:
    if len(path) > max_depth:
        raise CorruptMedia(f"boxes nested deeper than {max_depth} levels (hostile or corrupt)")
    for box in iter_boxes(source, start, end, budget, nested=bool(path)):
        yield path, box
        inner = children_start(source, box)
        if inner is not None and inner < box.end:
            yield from _walk(source, inner, box.end, (*path, box.type), budget, max_depth)


def read_payload(source: BinaryIO, box: Box, limit: int = MAX_PAYLOAD) -> bytes:
    """The payload of ``box``; TooLarge when it exceeds ``limit`` bytes."""
    if box.size - box.header > limit:
        raise TooLarge(f"box {box.name} holds {box.size - box.header} bytes, more than the {limit} allowed")
    return read_exact(source, box.start, box.size - box.header)


def find_child(source: BinaryIO, parent: Box, kind: bytes) -> Box | None:
    """The first direct child of ``parent`` of type ``kind``."""
    inner = children_start(source, parent)
    if inner is None:
        return None
    for box in iter_boxes(source, inner, parent.end, nested=True):
        if box.type == kind:
            return box
    return None


def top_level(source: BinaryIO) -> list[Box]:
    """Every top-level box; CorruptMedia when the file is not a sequence of whole boxes."""
    return list(iter_boxes(source, 0, file_size(source)))


def _meta_children(source: BinaryIO, box: Box) -> int:
    # ISO meta is a full box; QuickTime's meta is not. The QuickTime form has a box type right after
    # the first 4 bytes, the ISO form has version/flags (zero) there.
    if box.end - box.start >= 8 and read_exact(source, box.start, 4) != b"\0\0\0\0":
        return box.start
    return box.start + 4


def _audio_children(source: BinaryIO, box: Box) -> int | None:
    # QuickTime sound descriptions grow with their version: 0 -> 28 bytes, 1 -> 44, 2 -> 64.
    if box.end - box.start < 28:
        return None
    version = struct.unpack(">H", read_exact(source, box.start + 8, 2))[0]
    return box.start + {0: 28, 1: 44, 2: 64}.get(version, 28)


def _show(kind: bytes) -> str:
    text = kind.decode("latin-1")
    return repr(text) if text.isprintable() and text.strip() else f"0x{kind.hex()}"
