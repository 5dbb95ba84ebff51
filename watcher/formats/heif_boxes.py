"""A bounded ISO-BMFF box walk for HEIF/AVIF: the brands, the top-level boxes, and the item table of ``meta``.

Only what is needed to name what a file carries: decoding is left to libheif/libavif.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from watcher.errors import CorruptMedia
from watcher.formats.signatures import brands

AVIF_BRANDS = frozenset({b"avif", b"avis"})
MAX_BOXES = 10_000
MAX_META_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Box:
    kind: str  # four-character code, decoded as latin-1
    offset: int  # of the box header
    size: int  # whole box, header included
    header: int  # header length (8 or 16)


@dataclass(frozen=True)
class Item:
    item_id: int
    kind: str  # "hvc1", "av01", "Exif", "mime", "grid"...
    content_type: str  # for "mime" items, e.g. "application/rdf+xml"


@dataclass(frozen=True)
class Layout:
    major: bytes
    brands: frozenset[bytes]  # major and compatible brands
    boxes: tuple[Box, ...]  # top-level boxes
    tail: int  # bytes after the last complete top-level box
    items: tuple[Item, ...]
    references: tuple[tuple[str, int, tuple[int, ...]], ...]  # (type, from item, to items)


def walk(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Box]:
    """Boxes between ``start`` and ``end``; stops at the first box that does not fit (the tail)."""
    end = len(data) if end is None else end
    position, count = start, 0
    while position + 8 <= end and count < MAX_BOXES:
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            if position + 16 > end:
                return
            size, header = struct.unpack_from(">Q", data, position + 8)[0], 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            return
        yield Box(kind.decode("latin-1"), position, size, header)
        position += size
        count += 1


def layout(data: bytes) -> Layout:
    found = brands(data[:256])
    if found is None:
        raise CorruptMedia("HEIF file does not start with an ftyp box")
    boxes = tuple(walk(data))
    tail = len(data) - (boxes[-1].offset + boxes[-1].size if boxes else 0)
    items: tuple[Item, ...] = ()
    references: tuple[tuple[str, int, tuple[int, ...]], ...] = ()
    meta = next((box for box in boxes if box.kind == "meta"), None)
    if meta is not None and meta.size <= MAX_META_BYTES:
        items, references = _read_meta(data, meta)
    return Layout(found[0], found[1], boxes, tail, items, references)


def _read_meta(
    data: bytes, meta: Box
) -> tuple[tuple[Item, ...], tuple[tuple[str, int, tuple[int, ...]], ...]]:
    body = data[meta.offset + meta.header + 4 : meta.offset + meta.size]  # meta is a FullBox
    items: list[Item] = []
    references: list[tuple[str, int, tuple[int, ...]]] = []
    try:
        for child in walk(body):
            content = body[child.offset + child.header : child.offset + child.size]
            if child.kind == "iinf":
                items.extend(_read_item_infos(content))
            elif child.kind == "iref":
                references.extend(_read_references(content))
    except (struct.error, IndexError) as error:
        raise CorruptMedia(f"HEIF meta box is truncated ({error})") from None
    return tuple(items), tuple(references)


def _read_item_infos(content: bytes) -> Iterator[Item]:
    version = content[0]
    start = 6 if version == 0 else 8
    for infe in walk(content, start):
        if infe.kind != "infe":
            continue
        body = content[infe.offset + infe.header : infe.offset + infe.size]
        infe_version = body[0]
        if infe_version < 2:
            continue  # pre-HEIF item infos carry no item type
        id_size = 2 if infe_version == 2 else 4
        item_id = int.from_bytes(body[4 : 4 + id_size], "big")
        kind = body[6 + id_size : 10 + id_size].decode("latin-1")
        content_type = ""
        if kind == "mime":
            fields = body[10 + id_size :].split(b"\0")
            content_type = fields[1].decode("latin-1", "replace") if len(fields) > 1 else ""
        yield Item(item_id, kind, content_type)


def _read_references(content: bytes) -> Iterator[tuple[str, int, tuple[int, ...]]]:
    id_size = 2 if content[0] == 0 else 4
    code = ">H" if id_size == 2 else ">I"
    for reference in walk(content, 4):
        body = content[reference.offset + reference.header : reference.offset + reference.size]
        from_id = struct.unpack_from(code, body, 0)[0]
        count = struct.unpack_from(">H", body, id_size)[0]
        targets = tuple(struct.unpack_from(code, body, id_size + 2 + id_size * i)[0] for i in range(count))
        yield reference.kind, from_id, targets
