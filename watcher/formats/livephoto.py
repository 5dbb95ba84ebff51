"""QuickTime metadata items (udta text items, meta/keys/ilst) and the Live Photo content identifier.

An iPhone Live Photo is a still and a MOV that share ``com.apple.quicktime.content.identifier``; the
identifier pairs them anywhere they are shared, so it is an identifier in the ``identifiers`` category.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from watcher.errors import CorruptMedia
from watcher.formats.bmff import Box, iter_boxes, read_exact, read_payload, walk

CONTENT_IDENTIFIER = "com.apple.quicktime.content.identifier"
VALUE_LIMIT = 200
# Metadata payloads are small; anything larger is refused as a value rather than read.
ITEM_LIMIT = 1024 * 1024
APPLE_MAKER_NOTE = b"Apple iOS\0"
MAKER_NOTE_SCAN = 64 * 1024 * 1024  # the Exif of a still sits near its start; never read a whole huge file
MAKER_NOTE_LIMIT = 64 * 1024
SCAN_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class MetadataItem:
    """One QuickTime metadata item: its key (``©xyz``, ``com.apple.quicktime.make``...) and value."""

    name: str
    value: str | None
    size: int


def content_identifier(source: BinaryIO) -> str | None:
    """The Live Photo content identifier of a MOV, JPEG or HEIC, or None when it carries none.

    A MOV holds it as a QuickTime key; a still holds the same value as tag 17 (MediaGroupUUID) of its
    Apple maker note.
    """
    head = read_exact(source, 0, 12) if source.seek(0, 2) >= 12 else b""
    try:
        if head.startswith(b"\xff\xd8") or head[8:12] in (b"heic", b"heix", b"mif1", b"avif"):
            return _maker_note_identifier(source)
        if head[4:8] in (b"ftyp", b"moov", b"wide", b"free", b"mdat", b"skip"):
            for item in metadata_items(source):
                if item.name == CONTENT_IDENTIFIER:
                    return item.value
    except CorruptMedia:
        return None
    return None


def _maker_note_identifier(source: BinaryIO) -> str | None:
    """Tag 17 of an Apple maker note, found by its signature (its offsets are relative to it)."""
    source.seek(0)
    carried = b""
    read = 0
    while read < MAKER_NOTE_SCAN:
        chunk = source.read(SCAN_CHUNK)
        if not chunk:
            return None
        window = carried + chunk
        found = window.find(APPLE_MAKER_NOTE)
        if found != -1:
            start = read - len(carried) + found
            return _apple_tag(read_exact(source, start, min(MAKER_NOTE_LIMIT, source.seek(0, 2) - start)))
        carried = window[-len(APPLE_MAKER_NOTE) :]
        read += len(chunk)
    return None


def _apple_tag(note: bytes, wanted: int = 17) -> str | None:
    if len(note) < 16 or note[12:14] not in (b"MM", b"II"):
        return None
    order = ">" if note[12:14] == b"MM" else "<"
    count = struct.unpack(order + "H", note[14:16])[0]
    for index in range(count):
        entry = note[16 + 12 * index : 28 + 12 * index]
        if len(entry) < 12:
            return None
        tag, kind, length, offset = struct.unpack(order + "HHII", entry)
        if tag != wanted or kind != 2:
            continue
        raw = entry[8 : 8 + length] if length <= 4 else note[offset : offset + length]
        return _printable(raw.rstrip(b"\0")) or None
    return None


def metadata_items(source: BinaryIO) -> Iterator[MetadataItem]:
    """Every udta item and every meta/ilst item of a QuickTime/MP4 file, top-level moov or per track."""
    for path, box in walk(source):
        if box.type == b"meta":
            yield from _meta_items(source, box)
        elif path and path[-1] == b"udta" and box.type != b"meta":
            yield MetadataItem(box.name, _udta_value(source, box), box.size)


def _meta_items(source: BinaryIO, meta: Box) -> Iterator[MetadataItem]:
    keys: list[str] = []
    items: Box | None = None
    start = meta.start
    if meta.end - meta.start >= 4 and read_exact(source, meta.start, 4) == b"\0\0\0\0":
        start += 4  # the ISO full-box form
    for child in iter_boxes(source, start, meta.end, nested=True):
        if child.type == b"keys":
            keys = _parse_keys(read_payload(source, child, ITEM_LIMIT))
        elif child.type == b"ilst":
            items = child
    if items is None:
        return
    for entry in iter_boxes(source, items.start, items.end, nested=True):
        index = struct.unpack(">I", entry.type)[0]
        name = keys[index - 1] if keys and 0 < index <= len(keys) else entry.name
        yield MetadataItem(name, _data_value(source, entry), entry.size)


def _parse_keys(payload: bytes) -> list[str]:
    if len(payload) < 8:
        raise CorruptMedia("a QuickTime keys box is too short")
    count = struct.unpack(">I", payload[4:8])[0]
    keys: list[str] = []
    position = 8
    for _ in range(count):
        if position + 8 > len(payload):
            raise CorruptMedia("a QuickTime keys box ends early")
        size = struct.unpack(">I", payload[position : position + 4])[0]
        if size < 8 or position + size > len(payload):
            raise CorruptMedia("a QuickTime key has an impossible size")
        keys.append(payload[position + 8 : position + size].decode("utf-8", "replace"))
        position += size
    return keys


def _data_value(source: BinaryIO, entry: Box) -> str | None:
    for data in iter_boxes(source, entry.start, entry.end, nested=True):
        if data.type != b"data" or data.size - data.header < 8:
            continue
        payload = read_payload(source, data, ITEM_LIMIT)
        kind = struct.unpack(">I", payload[:4])[0] & 0xFFFFFF
        return _printable(payload[8:], utf16=kind == 2) if kind in (1, 2) else f"({len(payload) - 8} bytes)"
    return None


def _udta_value(source: BinaryIO, box: Box) -> str | None:
    if not box.type.startswith(b"\xa9") or box.size - box.header < 4:
        return None
    payload = read_payload(source, box, ITEM_LIMIT)
    length = struct.unpack(">H", payload[:2])[0]
    return _printable(payload[4 : 4 + length])


def _printable(raw: bytes, *, utf16: bool = False) -> str:
    text = raw.decode("utf-16-be" if utf16 else "utf-8", "replace")
    cleaned = "".join(character if character.isprintable() else "?" for character in text)
    return cleaned[:VALUE_LIMIT]
