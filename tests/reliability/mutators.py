"""Structure-aware mutation of real media files: find the length, size, count and offset fields of each
container (JPEG segments, PNG chunks, RIFF chunks, GIF sub-blocks, TIFF IFDs, BMFF boxes) and change
exactly those, so a fuzzer reaches the parsers' bounds checks instead of bouncing off the magic bytes.

A file is described as ``Layout``: the numeric fields a parser trusts and the byte spans of its units
(segments, chunks, boxes). ``mutate`` applies one ``Mutation`` to the bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Container boxes whose payload is more boxes (``meta`` and ``iref`` are full boxes: 4 bytes first).
BMFF_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"udta", b"edts", b"iprp", b"ipco"}
BMFF_FULL_CONTAINERS = {b"meta", b"iref"}
MAX_UNITS = 400


@dataclass(frozen=True)
class Field:
    """A number stored at ``offset``, ``width`` bytes wide, that some parser trusts."""

    offset: int
    width: int
    big_endian: bool
    kind: str  # "length", "count", "offset", "crc", "next_ifd"


@dataclass(frozen=True)
class Layout:
    fields: tuple[Field, ...]
    units: tuple[tuple[int, int], ...]  # (start, end) byte spans of segments / chunks / boxes
    ifd_starts: tuple[int, ...] = ()  # absolute offsets of TIFF IFDs (for loops)
    tiff_base: int | None = None  # where the TIFF header starts (0 for a TIFF, inside APP1 for a JPEG)


@dataclass(frozen=True)
class Mutation:
    """One change. ``pick`` chooses a field or unit (modulo how many there are); ``value`` the new data."""

    kind: str  # "set_field", "truncate", "duplicate", "delete", "flip", "ifd_loop"
    pick: int
    value: int


def _read(data: bytes, field: Field) -> int:
    return int.from_bytes(
        data[field.offset : field.offset + field.width], "big" if field.big_endian else "little"
    )


def _write(data: bytearray, field: Field, value: int) -> None:
    value %= 1 << (8 * field.width)
    data[field.offset : field.offset + field.width] = value.to_bytes(
        field.width, "big" if field.big_endian else "little"
    )


def jpeg_layout(data: bytes) -> Layout:
    fields: list[Field] = []
    units: list[tuple[int, int]] = []
    ifds: tuple[int, ...] = ()
    tiff_base: int | None = None
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF and len(units) < MAX_UNITS:
        marker = data[position + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        fields.append(Field(position + 2, 2, True, "length"))
        end = position + 2 + length
        units.append((position, min(end, len(data))))
        if marker == 0xE1 and data[position + 4 : position + 10] == b"Exif\x00\x00" and tiff_base is None:
            tiff_base = position + 10
            inner = tiff_layout(data[tiff_base:end])
            fields.extend(Field(f.offset + tiff_base, f.width, f.big_endian, f.kind) for f in inner.fields)
            ifds = tuple(start + tiff_base for start in inner.ifd_starts)
        if marker == 0xDA:
            break
        position = end
    return Layout(tuple(fields), tuple(units), ifds, tiff_base)


def png_layout(data: bytes) -> Layout:
    fields: list[Field] = []
    units: list[tuple[int, int]] = []
    position = 8
    while position + 12 <= len(data) and len(units) < MAX_UNITS:
        length = struct.unpack(">I", data[position : position + 4])[0]
        end = position + 12 + length
        fields.append(Field(position, 4, True, "length"))
        if end <= len(data):
            fields.append(Field(end - 4, 4, True, "crc"))
        units.append((position, min(end, len(data))))
        position = end
    return Layout(tuple(fields), tuple(units))


def riff_layout(data: bytes) -> Layout:
    fields = [Field(4, 4, False, "length")]
    units: list[tuple[int, int]] = []
    position = 12
    while position + 8 <= len(data) and len(units) < MAX_UNITS:
        size = struct.unpack("<I", data[position + 4 : position + 8])[0]
        fields.append(Field(position + 4, 4, False, "length"))
        end = position + 8 + size + (size & 1)
        units.append((position, min(end, len(data))))
        if data[position : position + 4] == b"VP8X" and position + 18 <= len(data):
            fields.append(Field(position + 12, 3, False, "count"))  # canvas width - 1
            fields.append(Field(position + 15, 3, False, "count"))  # canvas height - 1
        position = end
    return Layout(tuple(fields), tuple(units))


def _gif_sub_blocks(data: bytes, position: int, fields: list[Field]) -> int:
    while position < len(data) and len(fields) < MAX_UNITS * 4:
        size = data[position]
        fields.append(Field(position, 1, True, "length"))
        position += 1 + size
        if size == 0:
            break
    return position


def gif_layout(data: bytes) -> Layout:
    fields = [Field(6, 2, False, "count"), Field(8, 2, False, "count")]
    units: list[tuple[int, int]] = []
    if len(data) < 13:
        return Layout(tuple(fields), ())
    position = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
    while position < len(data) and len(units) < MAX_UNITS:
        start = position
        introducer = data[position]
        if introducer == 0x21 and position + 2 <= len(data):
            position = _gif_sub_blocks(data, position + 2, fields)
        elif introducer == 0x2C and position + 10 <= len(data):
            fields.extend(Field(position + offset, 2, False, "count") for offset in (5, 7))
            flags = data[position + 9]
            position += 10 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0) + 1  # + LZW minimum code size
            position = _gif_sub_blocks(data, position, fields)
        else:
            break
        units.append((start, min(position, len(data))))
    return Layout(tuple(fields), tuple(units))


def tiff_layout(data: bytes) -> Layout:
    if len(data) < 8 or data[:2] not in (b"II", b"MM"):
        return Layout((), ())
    big = data[:2] == b"MM"
    unpack_short, unpack_long = (">H", ">I") if big else ("<H", "<I")
    fields = [Field(4, 4, big, "offset")]
    units: list[tuple[int, int]] = []
    starts: list[int] = []
    pending = [struct.unpack(unpack_long, data[4:8])[0]]
    while pending and len(starts) < 32:
        start = pending.pop()
        if start in starts or start + 2 > len(data):
            continue
        starts.append(start)
        count = struct.unpack(unpack_short, data[start : start + 2])[0]
        fields.append(Field(start, 2, big, "count"))
        for index in range(min(count, 200)):
            entry = start + 2 + 12 * index
            if entry + 12 > len(data):
                break
            tag = struct.unpack(unpack_short, data[entry : entry + 2])[0]
            fields.append(Field(entry + 4, 4, big, "count"))
            fields.append(Field(entry + 8, 4, big, "offset"))
            if tag in (0x8769, 0x8825, 0xA005, 0x014A):  # Exif, GPS, Interop, SubIFDs pointers
                pending.append(struct.unpack(unpack_long, data[entry + 8 : entry + 12])[0])
        next_field = start + 2 + 12 * count
        units.append((start, min(next_field + 4, len(data))))
        if next_field + 4 <= len(data):
            fields.append(Field(next_field, 4, big, "next_ifd"))
            pending.append(struct.unpack(unpack_long, data[next_field : next_field + 4])[0])
    return Layout(tuple(fields), tuple(units), tuple(starts), 0)


def bmff_layout(data: bytes) -> Layout:
    fields: list[Field] = []
    units: list[tuple[int, int]] = []
    stack = [(0, len(data))]
    while stack and len(units) < MAX_UNITS:
        position, limit = stack.pop()
        while position + 8 <= limit and len(units) < MAX_UNITS:
            size, kind = struct.unpack(">I4s", data[position : position + 8])
            fields.append(Field(position, 4, True, "length"))
            header = 8
            if size == 1 and position + 16 <= limit:
                fields.append(Field(position + 8, 8, True, "length"))
                size, header = struct.unpack(">Q", data[position + 8 : position + 16])[0], 16
            end = limit if size == 0 else position + size
            if size < header or end > limit:
                units.append((position, limit))
                break
            units.append((position, end))
            if kind in BMFF_CONTAINERS:
                stack.append((position + header, end))
            elif kind in BMFF_FULL_CONTAINERS:
                stack.append((position + header + 4, end))
            position = end
    return Layout(tuple(fields), tuple(units))


LAYOUTS = {
    "jpeg": jpeg_layout,
    "png": png_layout,
    "webp": riff_layout,
    "gif": gif_layout,
    "tiff": tiff_layout,
    "heif": bmff_layout,
    "video": bmff_layout,
}


def _interesting(original: int, width: int, value: int, size: int) -> int:
    top = (1 << (8 * width)) - 1
    choices = [0, 1, 2, 4, 7, 8, 12, 16, top, top - 1, top >> 1, (top >> 1) + 1, size, size // 2]
    choices += [original + 1, original - 1, original * 2, original + 8, original - 8, original + size]
    if value < 1 << 16:
        return choices[value % len(choices)] % (top + 1)
    return value % (top + 1)  # a big drawn value: use it as is


def mutate(data: bytes, layout: Layout, mutation: Mutation) -> bytes:
    """``data`` with one mutation applied (unchanged where the layout has nothing to mutate)."""
    out = bytearray(data)
    kind, pick, value = mutation.kind, mutation.pick, mutation.value
    if kind == "set_field" and layout.fields:
        field = layout.fields[pick % len(layout.fields)]
        if field.offset + field.width <= len(out):
            _write(out, field, _interesting(_read(data, field), field.width, value, len(data)))
    elif kind == "truncate" and data:
        if layout.units and value % 2:
            start, end = layout.units[pick % len(layout.units)]
            cut = start + (value >> 1) % max(1, end - start + 1)
        else:
            cut = pick % len(data)
        del out[cut:]
    elif kind in ("duplicate", "delete") and layout.units:
        start, end = layout.units[pick % len(layout.units)]
        if kind == "duplicate":
            out[end:end] = data[start:end] * (1 + value % 3)
        else:
            del out[start:end]
    elif kind == "ifd_loop" and layout.ifd_starts and layout.tiff_base is not None:
        _loop_ifds(out, layout, pick, value)
    elif kind == "flip" and data:
        out[pick % len(out)] ^= 1 << (value % 8)
    return bytes(out)


def _loop_ifds(out: bytearray, layout: Layout, pick: int, value: int) -> None:
    """Point an IFD's next-IFD offset back at an IFD (itself or an earlier one): a cycle."""
    next_fields = [f for f in layout.fields if f.kind == "next_ifd"]
    if not next_fields or layout.tiff_base is None:
        return
    field = next_fields[pick % len(next_fields)]
    target = layout.ifd_starts[value % len(layout.ifd_starts)]
    if field.offset + field.width <= len(out):
        _write(out, field, target - layout.tiff_base)
