"""A hostile-input-safe EXIF (TIFF structure) reader and a keep-list writer.

Every handler whose container carries EXIF (JPEG APP1, PNG eXIf, WebP EXIF, HEIF Exif items, TIFF)
goes through these three functions. The input is the TIFF structure without JPEG's ``Exif\\0\\0`` prefix.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from watcher.errors import CorruptMedia, TooLarge
from watcher.formats.base import Finding
from watcher.formats.exif_gps import COARSE_TAGS, coarse_gps, gps_position
from watcher.formats.exif_tags import DATE_TAGS, POINTER_TAGS, classify, tag_name
from watcher.rules.profile import Coarsen, Profile

# Bytes per value for each TIFF field type (13 is IFD, stored like LONG).
TYPE_SIZES: dict[int, int] = {
    **{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1},
    **{8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4},
}
MAX_EXIF_BYTES = 64 * 1024 * 1024
MAX_ENTRIES_PER_IFD = 1000
# IFDs whose tags may be written back; IFD1 (thumbnail) and Interop are never kept.
WRITABLE_IFDS = ("IFD0", "ExifIFD", "GPS")
_DAY = re.compile(rb"\d{4}:\d{2}:\d{2}")


class IfdLoop(CorruptMedia):
    """Two pointers lead to the same IFD: a crafted block, refused whole rather than dropped in part."""


@dataclass(frozen=True)
class FilteredExif:
    data: bytes | None
    removed: Mapping[str, tuple[str, ...]]
    kept: tuple[str, ...]
    orientation: int | None = None  # the source's IFD0 Orientation, read in the same parse


class Entry(NamedTuple):  # a tuple, not a dataclass: a phone photo has a few hundred of them
    ifd: str
    tag: int
    name: str
    type: int
    values: int  # the value count (a tuple already has a count() method)
    raw: bytes | None  # the value bytes; None when the value lies outside the block or the type is unknown

    @property
    def label(self) -> str:
        return f"EXIF:IFD1:{self.name}" if self.ifd == "IFD1" else f"EXIF:{self.name}"


@dataclass(frozen=True)
class ParsedExif:
    order: str  # struct byte-order character, "<" or ">"
    entries: tuple[Entry, ...]
    unreadable: tuple[str, ...]  # sub-IFDs that could not be read (their content is dropped)


def parse_exif(tiff: bytes) -> ParsedExif:
    """Read IFD0, its Exif/GPS/Interop sub-IFDs and IFD1. Raises CorruptMedia on a malformed header."""
    if len(tiff) > MAX_EXIF_BYTES:
        raise TooLarge(f"EXIF block of {len(tiff):,} bytes exceeds the {MAX_EXIF_BYTES:,}-byte limit")
    if len(tiff) < 8:
        raise CorruptMedia("EXIF block is shorter than a TIFF header")
    if tiff[:4] == b"II*\0":
        order = "<"
    elif tiff[:4] == b"MM\0*":
        order = ">"
    else:
        raise CorruptMedia("EXIF block does not start with a TIFF header")
    (ifd0_offset,) = struct.unpack(order + "I", tiff[4:8])
    visited: set[int] = set()
    entries, next_offset = _read_ifd(tiff, order, ifd0_offset, "IFD0", visited)
    unreadable: list[str] = []
    pending = [(entry.raw, POINTER_TAGS[entry.tag]) for entry in entries if entry.tag in POINTER_TAGS]
    if next_offset:
        pending.append((struct.pack(order + "I", next_offset), "IFD1"))
    collected = [entry for entry in entries if entry.tag not in POINTER_TAGS]
    while pending:
        raw, ifd = pending.pop(0)
        try:
            if raw is None or len(raw) < 4:
                raise CorruptMedia(f"EXIF {ifd} pointer is invalid")
            (offset,) = struct.unpack(order + "I", raw[:4])
            sub_entries, _ = _read_ifd(tiff, order, offset, ifd, visited)
        except IfdLoop:
            raise
        except CorruptMedia:
            unreadable.append(ifd)
            continue
        for entry in sub_entries:
            if entry.tag in POINTER_TAGS and ifd == "ExifIFD" and POINTER_TAGS[entry.tag] == "Interop":
                pending.append((entry.raw, "Interop"))
            else:
                collected.append(entry)
    return ParsedExif(order, tuple(collected), tuple(unreadable))


def _read_ifd(tiff: bytes, order: str, offset: int, ifd: str, visited: set[int]) -> tuple[list[Entry], int]:
    if offset in visited:
        raise IfdLoop(f"EXIF {ifd} points back to an IFD already read (loop)")
    visited.add(offset)
    if offset < 8 or offset + 2 > len(tiff):
        raise CorruptMedia(f"EXIF {ifd} offset {offset} lies outside the {len(tiff)}-byte block")
    (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    if count > MAX_ENTRIES_PER_IFD:
        raise CorruptMedia(f"EXIF {ifd} claims {count} entries (limit {MAX_ENTRIES_PER_IFD})")
    # A table cut short by the end of the block (seen in real files) keeps only its complete entries.
    count = min(count, (len(tiff) - offset - 2) // 12)
    end = offset + 2 + 12 * count
    entries = [
        _entry(tiff, order, ifd, tag, kind, count, inline)
        for tag, kind, count, inline in struct.iter_unpack(order + "HHI4s", tiff[offset + 2 : end])
    ]
    next_offset = 0
    if end + 4 <= len(tiff):
        (next_offset,) = struct.unpack(order + "I", tiff[end : end + 4])
    return entries, next_offset


def _entry(tiff: bytes, order: str, ifd: str, tag: int, kind: int, count: int, inline: bytes) -> Entry:
    """One IFD entry; ``inline`` is its last four bytes (the value itself, or the value's offset)."""
    name = tag_name(ifd, tag)
    size = TYPE_SIZES.get(kind)
    if size is None or count > len(tiff):
        return Entry(ifd, tag, name, kind, count, None)
    total = size * count
    if total <= 4:
        return Entry(ifd, tag, name, kind, count, inline[:total])
    (value_offset,) = struct.unpack(order + "I", inline)
    if value_offset + total > len(tiff):
        return Entry(ifd, tag, name, kind, count, None)
    return Entry(ifd, tag, name, kind, count, tiff[value_offset : value_offset + total])


def read_exif(tiff: bytes) -> tuple[Finding, ...]:
    """Every tag of IFD0/ExifIFD/GPS/Interop/IFD1, classified. Raises CorruptMedia on a hostile block."""
    parsed = parse_exif(tiff)
    findings = [
        Finding(
            classify(entry.ifd, entry.name),
            entry.label,
            _printable(parsed.order, entry),
            len(entry.raw) if entry.raw is not None and entry.type in (1, 7) else None,
        )
        for entry in parsed.entries
    ]
    findings += [Finding(_ifd_category(ifd), f"EXIF:{ifd} (unreadable)") for ifd in parsed.unreadable]
    return tuple(findings)


def _ifd_category(ifd: str) -> str:
    return {"GPS": "location", "IFD1": "thumbnails"}.get(ifd, "other")


def _printable(order: str, entry: Entry) -> str | None:
    if entry.raw is None:
        return None
    if entry.type == 2:
        text = entry.raw.split(b"\0", 1)[0].decode("utf-8", "replace")
        return "".join(ch if ch.isprintable() else "?" for ch in text)[:120]
    if entry.type in (3, 4, 8, 9):
        code = {3: "H", 4: "I", 8: "h", 9: "i"}[entry.type]
        values = struct.unpack(
            f"{order}{min(entry.values, 8)}{code}", entry.raw[: 8 * TYPE_SIZES[entry.type]]
        )
        return " ".join(str(value) for value in values)
    if entry.type in (5, 10):
        code = "I" if entry.type == 5 else "i"
        pairs = struct.unpack(f"{order}{2 * min(entry.values, 4)}{code}", entry.raw[:32])
        return " ".join(f"{pairs[i]}/{pairs[i + 1]}" for i in range(0, len(pairs), 2))
    return None


def exif_orientation(tiff: bytes) -> int | None:
    """The IFD0 Orientation (1..8), or None when absent or invalid. Raises CorruptMedia on a hostile block."""
    return _orientation_of(parse_exif(tiff))


def _orientation_of(parsed: ParsedExif) -> int | None:
    for entry in parsed.entries:
        if entry.ifd == "IFD0" and entry.name == "Orientation":
            return _orientation_value(parsed.order, entry)
    return None


def _orientation_value(order: str, entry: Entry) -> int | None:
    # SHORT per the standard; a few writers use LONG, which readers accept too.
    if entry.type not in (3, 4) or entry.raw is None or entry.values < 1:
        return None
    (value,) = struct.unpack(order + ("H" if entry.type == 3 else "I"), entry.raw[: TYPE_SIZES[entry.type]])
    return int(value) if 1 <= value <= 8 else None


def filter_exif(tiff: bytes, profile: Profile) -> FilteredExif:
    """A fresh minimal EXIF block holding only the tags ``profile`` keeps (None when nothing is kept)."""
    parsed = parse_exif(tiff)
    removed: dict[str, list[str]] = {}
    kept: list[str] = []
    groups: dict[str, dict[int, tuple[int, int, bytes]]] = {ifd: {} for ifd in WRITABLE_IFDS}
    kept_categories = profile.kept_categories()
    for entry in parsed.entries:
        category = classify(entry.ifd, entry.name)
        value = _kept_value(parsed.order, entry, category, profile, kept_categories)
        if value is None or entry.tag in groups[entry.ifd]:
            removed.setdefault(category, []).append(entry.label)
            continue
        groups[entry.ifd][entry.tag] = value
        kept.append(entry.label)
    for ifd in parsed.unreadable:
        removed.setdefault(_ifd_category(ifd), []).append(f"EXIF:{ifd} (unreadable)")
    if isinstance(profile.location, Coarsen):
        _coarsen(parsed, groups["GPS"], kept, removed, profile.location.km)
    data = _write(parsed.order, groups) if kept else None
    removed_names = {key: tuple(names) for key, names in removed.items()}
    return FilteredExif(data, removed_names, tuple(kept), _orientation_of(parsed))


def _coarsen(
    parsed: ParsedExif,
    gps: dict[int, tuple[int, int, bytes]],
    kept: list[str],
    removed: dict[str, list[str]],
    km: float,
) -> None:
    """Replace the kept GPS entries by the coarse cell centre alone; every other GPS tag is removed."""
    labels = {entry.tag: entry.label for entry in parsed.entries if entry.ifd == "GPS"}
    for tag in list(gps):
        kept.remove(labels[tag])
        removed.setdefault("location", []).append(labels[tag])
    by_name = {entry.name: (entry.type, entry.raw) for entry in parsed.entries if entry.ifd == "GPS"}
    position = gps_position(parsed.order, by_name)
    gps.clear()
    if position is not None:
        gps.update(coarse_gps(parsed.order, *position, km))
        kept.extend(f"EXIF:{name} (coarsened)" for name in COARSE_TAGS.values())


def _kept_value(
    order: str, entry: Entry, category: str, profile: Profile, kept: frozenset[str]
) -> tuple[int, int, bytes] | None:
    """(type, count, value bytes) to write for ``entry``, or None when it goes (``kept``: the profile's
    kept categories, decided once per block)."""
    if entry.raw is None or entry.ifd not in WRITABLE_IFDS or category not in kept:
        return None
    if category == "orientation":
        value = _orientation_value(order, entry)
        return None if value is None or value == 1 else (3, 1, struct.pack(order + "H", value))
    if category == "time" and profile.time == "date":
        if entry.name not in DATE_TAGS or entry.type != 2 or not _DAY.match(entry.raw[:10]):
            return None
        return (2, 20, entry.raw[:10] + b" 00:00:00\0")
    return (entry.type, entry.values, entry.raw)


def _write(order: str, groups: dict[str, dict[int, tuple[int, int, bytes]]]) -> bytes:
    ifd0 = dict(groups["IFD0"])
    subs = [(0x8769, groups["ExifIFD"]), (0x8825, groups["GPS"])]
    for pointer, entries in subs:
        if entries:
            ifd0[pointer] = (4, 1, b"\0\0\0\0")  # patched below once the layout is known
    position = 8 + _block_size(ifd0)
    for pointer, entries in subs:
        if entries:
            ifd0[pointer] = (4, 1, struct.pack(order + "I", position))
            position += _block_size(entries)
    header = (b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8)
    out = bytearray(header)
    out += _serialize(order, ifd0, len(out))
    for _pointer, entries in subs:
        if entries:
            out += _serialize(order, entries, len(out))
    return bytes(out)


def _padded(size: int) -> int:
    return size + (size & 1)


def _block_size(entries: Mapping[int, tuple[int, int, bytes]]) -> int:
    data = sum(_padded(len(raw)) for _kind, _count, raw in entries.values() if len(raw) > 4)
    return 2 + 12 * len(entries) + 4 + data


def _serialize(order: str, entries: Mapping[int, tuple[int, int, bytes]], start: int) -> bytes:
    table = bytearray(struct.pack(order + "H", len(entries)))
    data = bytearray()
    data_start = start + 2 + 12 * len(entries) + 4
    for tag in sorted(entries):
        kind, count, raw = entries[tag]
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack(order + "I", data_start + len(data))
            data += raw + b"\0" * (len(raw) & 1)
        table += struct.pack(order + "HHI", tag, kind, count) + field
    return bytes(table + b"\0\0\0\0" + data)
