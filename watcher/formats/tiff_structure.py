"""A bounded reader for classic TIFF structure: header, IFD entries, and the image data they point at.

Hostile-safe by construction: every offset is checked against the file, entry and block counts are capped,
and IFD chains stop at a loop or after a fixed number of pages.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from watcher.errors import CorruptMedia, UnsupportedFormat

# Bytes per value for each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, SBYTE, UNDEFINED, SSHORT,
# SLONG, SRATIONAL, FLOAT, DOUBLE, IFD).
TYPE_SIZES: dict[int, int] = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
}
SHORT, LONG = 3, 4
MAX_ENTRIES = 4096  # real IFDs hold a few dozen entries
MAX_PAGES = 1024  # bound on an IFD chain (pages, thumbnails)
MAX_BLOCKS = 4_000_000  # strips or tiles in one image

STRIP_OFFSETS, STRIP_BYTE_COUNTS = 273, 279
TILE_OFFSETS, TILE_BYTE_COUNTS = 324, 325


@dataclass(frozen=True)
class Entry:
    """One IFD entry; ``value`` holds the raw value bytes in the file's byte order."""

    tag: int
    field_type: int
    count: int
    value: bytes
    complete: bool = True  # False when the value lies past the end of the file (``value`` is then empty)


@dataclass(frozen=True)
class Ifd:
    offset: int
    entries: tuple[Entry, ...]
    next_offset: int

    def get(self, tag: int) -> Entry | None:
        for entry in self.entries:
            if entry.tag == tag:
                return entry
        return None


@dataclass(frozen=True)
class Header:
    order: str  # "<" little-endian (II) or ">" big-endian (MM)
    ifd0_offset: int
    canon_cr2: bool  # b"CR" at offset 8: Canon CR2 RAW


def read_header(data: bytes) -> Header:
    """Parse the 8-byte TIFF header; refuse BigTIFF and the RAW dialects with their own magic numbers."""
    if len(data) < 8:
        raise CorruptMedia(f"TIFF file too short ({len(data)} bytes)")
    marker = data[:2]
    if marker not in (b"II", b"MM"):
        raise CorruptMedia("not a TIFF file (no II/MM byte-order mark)")
    order = "<" if marker == b"II" else ">"
    magic = struct.unpack(order + "H", data[2:4])[0]
    if magic == 43:
        raise UnsupportedFormat("BigTIFF image: not published by default (only classic TIFF is supported)")
    if magic == 0x55:
        raise UnsupportedFormat("RAW camera file (Panasonic RW2): not published by default")
    if magic in (0x4F52, 0x5352, 0x524F):
        raise UnsupportedFormat("RAW camera file (Olympus ORF): not published by default")
    if magic != 42:
        raise CorruptMedia(f"not a classic TIFF file (magic number {magic})")
    ifd0_offset = struct.unpack(order + "I", data[4:8])[0]
    return Header(order=order, ifd0_offset=ifd0_offset, canon_cr2=data[8:10] == b"CR")


def read_ifd(data: bytes, order: str, offset: int) -> Ifd:
    """Read the IFD at ``offset``; values are copied out so later stages never index ``data`` unchecked."""
    if offset < 8 or offset % 2 or offset + 2 > len(data):
        raise CorruptMedia(f"TIFF directory offset {offset} is outside the file")
    count = struct.unpack_from(order + "H", data, offset)[0]
    if count == 0 or count > MAX_ENTRIES:
        raise CorruptMedia(f"TIFF directory at {offset} claims {count} entries")
    end = offset + 2 + 12 * count
    if end + 4 > len(data):
        raise CorruptMedia(f"TIFF directory at {offset} runs past the end of the file")
    entries = [_read_entry(data, order, offset + 2 + 12 * index) for index in range(count)]
    next_offset = struct.unpack_from(order + "I", data, end)[0]
    return Ifd(offset=offset, entries=tuple(e for e in entries if e is not None), next_offset=next_offset)


def _read_entry(data: bytes, order: str, position: int) -> Entry | None:
    tag, field_type, count = struct.unpack_from(order + "HHI", data, position)
    size = TYPE_SIZES.get(field_type)
    if size is None:
        return None  # unknown field types are skipped, as the TIFF specification asks of readers
    length = size * count
    if length <= 4:
        value = data[position + 8 : position + 8 + length]
    else:
        value_offset = struct.unpack_from(order + "I", data, position + 8)[0]
        if value_offset + length > len(data):
            # Fatal only if the tag is needed; most such tags are metadata that is dropped anyway.
            return Entry(tag=tag, field_type=field_type, count=count, value=b"", complete=False)
        value = data[value_offset : value_offset + length]
    return Entry(tag=tag, field_type=field_type, count=count, value=value)


def read_chain(data: bytes, header: Header) -> tuple[Ifd, ...]:
    """IFD0 and every following page, stopping at a loop; only IFD0 must be valid."""
    pages = [read_ifd(data, header.order, header.ifd0_offset)]
    seen = {header.ifd0_offset}
    offset = pages[0].next_offset
    while offset and offset not in seen and len(pages) < MAX_PAGES:
        seen.add(offset)
        try:
            page = read_ifd(data, header.order, offset)
        except CorruptMedia:
            break  # a broken later page is dropped anyway; IFD0 alone is published
        pages.append(page)
        offset = page.next_offset
    return tuple(pages)


def integers(entry: Entry, order: str) -> tuple[int, ...]:
    """The values of a BYTE/SHORT/LONG/IFD entry as integers."""
    codes = {1: "B", 3: "H", 4: "I", 13: "I", 6: "b", 8: "h", 9: "i"}
    code = codes.get(entry.field_type)
    if not entry.complete:
        raise CorruptMedia(f"TIFF tag {entry.tag} points past the end of the file")
    if code is None:
        raise CorruptMedia(f"TIFF tag {entry.tag} has field type {entry.field_type}, expected an integer")
    return struct.unpack(f"{order}{entry.count}{code}", entry.value)


def first_integer(ifd: Ifd, tag: int, order: str, default: int | None = None) -> int | None:
    entry = ifd.get(tag)
    if entry is None or entry.count == 0:
        return default
    try:
        return integers(entry, order)[0]
    except CorruptMedia:
        return default


@dataclass(frozen=True)
class ImageData:
    """Where IFD0's strips or tiles are: the offset tag, the byte-count tag and the blocks."""

    offsets_tag: int
    counts_tag: int
    blocks: tuple[tuple[int, int], ...]  # (offset, length) in the file

    def digest(self, data: bytes) -> str:
        return digest_blocks(data, self.blocks)


def image_data(data: bytes, ifd: Ifd, order: str) -> ImageData:
    """The strips (or tiles) of ``ifd``, each checked to lie inside the file."""
    for offsets_tag, counts_tag in ((TILE_OFFSETS, TILE_BYTE_COUNTS), (STRIP_OFFSETS, STRIP_BYTE_COUNTS)):
        offsets_entry, counts_entry = ifd.get(offsets_tag), ifd.get(counts_tag)
        if offsets_entry is None:
            continue
        if counts_entry is None:
            raise CorruptMedia("TIFF image has data offsets but no byte counts")
        if offsets_entry.count != counts_entry.count or not 0 < offsets_entry.count <= MAX_BLOCKS:
            raise CorruptMedia(
                f"TIFF image lists {offsets_entry.count} blocks and {counts_entry.count} sizes"
            )
        blocks = tuple(zip(integers(offsets_entry, order), integers(counts_entry, order), strict=True))
        _check_blocks(blocks, len(data))
        return ImageData(offsets_tag=offsets_tag, counts_tag=counts_tag, blocks=blocks)
    raise CorruptMedia("TIFF image has no strips or tiles")


def _check_blocks(blocks: Iterable[tuple[int, int]], size: int) -> None:
    total = 0
    for index, (offset, length) in enumerate(blocks):
        if offset < 0 or length < 0 or offset + length > size:
            raise CorruptMedia(f"TIFF image block {index} lies beyond the end of the file (truncated?)")
        total += length
    if total > size:
        # Blocks that overlap would make the copy larger than the source: a file built to exhaust memory.
        raise CorruptMedia("TIFF image blocks overlap (they add up to more than the file)")


def digest_blocks(data: bytes, blocks: Sequence[tuple[int, int]]) -> str:
    hasher = hashlib.sha256()
    for offset, length in blocks:
        hasher.update(data[offset : offset + length])
    return hasher.hexdigest()
