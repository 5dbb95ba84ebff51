"""Writes a single-page classic TIFF from kept IFD0 entries and the source's strips or tiles, byte for byte.

Layout: header, IFD0, out-of-line values, then the image blocks. The source's byte order is kept so value
bytes are copied unchanged; only the strip/tile offset and byte-count tags are rebuilt.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from watcher.formats.tiff_structure import LONG, TYPE_SIZES, Entry, ImageData


def _word_aligned(position: int) -> int:
    return position + (position & 1)


def write_tiff(order: str, entries: Sequence[Entry], source: bytes, image: ImageData) -> bytes:
    """A TIFF holding ``entries`` (tags other than the block tags) and the blocks of ``image``."""
    block_count = len(image.blocks)
    counts_value = struct.pack(f"{order}{block_count}I", *(length for _, length in image.blocks))
    placeholder = bytes(4 * block_count)
    all_entries = [e for e in entries if e.tag not in (image.offsets_tag, image.counts_tag)]
    all_entries.append(Entry(image.offsets_tag, LONG, block_count, placeholder))
    all_entries.append(Entry(image.counts_tag, LONG, block_count, counts_value))
    all_entries.sort(key=lambda e: e.tag)

    ifd_size = 2 + 12 * len(all_entries) + 4
    position = 8 + ifd_size
    value_offsets: dict[int, int] = {}
    for entry in all_entries:
        if len(entry.value) > 4:
            value_offsets[entry.tag] = position
            position = _word_aligned(position + len(entry.value))
    block_offsets = []
    for _, length in image.blocks:
        block_offsets.append(position)
        position = _word_aligned(position + length)
    offsets_value = struct.pack(f"{order}{block_count}I", *block_offsets)

    output = bytearray(position)
    output[0:8] = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, 8)
    struct.pack_into(order + "H", output, 8, len(all_entries))
    for index, entry in enumerate(all_entries):
        value = offsets_value if entry.tag == image.offsets_tag else entry.value
        _put_entry(output, order, 10 + 12 * index, entry, value, value_offsets.get(entry.tag))
    struct.pack_into(order + "I", output, 8 + ifd_size - 4, 0)  # no further pages
    for (offset, length), target in zip(image.blocks, block_offsets, strict=True):
        output[target : target + length] = source[offset : offset + length]
    return bytes(output)


def _put_entry(
    output: bytearray, order: str, position: int, entry: Entry, value: bytes, at: int | None
) -> None:
    assert len(value) == TYPE_SIZES[entry.field_type] * entry.count
    struct.pack_into(order + "HHI", output, position, entry.tag, entry.field_type, entry.count)
    if at is None:
        output[position + 8 : position + 8 + len(value)] = value
    else:
        struct.pack_into(order + "I", output, position + 8, at)
        output[at : at + len(value)] = value
