"""What a video carries besides its pictures and sound, read with our own box reader, by category."""

from __future__ import annotations

import datetime
import struct
from typing import BinaryIO

from watcher.formats.base import Finding
from watcher.formats.bmff import Box, find_child, read_exact, walk
from watcher.formats.livephoto import CONTENT_IDENTIFIER, metadata_items
from watcher.formats.video_fixup import STRUCTURE, TOP_LEVEL

CREATE_DATE = "QuickTime:CreateDate"
QUICKTIME_EPOCH = datetime.datetime(1904, 1, 1, tzinfo=datetime.UTC)
# Substrings of a lower-cased item key, first match wins; QuickTime's "©" keys are matched whole.
_CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("identifiers", (CONTENT_IDENTIFIER, "serial", "uuid", "identifier")),
    ("location", ("location", "iso6709", "©xyz", "loci", "gps", "coordinates")),
    ("device", ("make", "model", "software", "©mak", "©mod", "©swr", "©too", "©enc", "manu", "modl",
                "encoder", "camera", "lens", "©inf", "©fmt")),
    ("time", ("date", "©day")),
    ("copyright", ("artist", "author", "auth", "copyright", "cprt", "©art", "©aut", "aart", "©wrt", "©prd",
                   "©com", "publisher")),
    ("text", ("title", "comment", "description", "keyword", "©nam", "©cmt", "©des", "dscp", "titl", "kywd",
              "album", "©alb", "©lyr", "©gen", "©grp", "gnre", "info", "name", "©req")),
    ("thumbnails", ("covr", "thumb", "preview")),
)  # fmt: skip


def findings(source: BinaryIO) -> tuple[Finding, ...]:
    """Every metadata item, date, extra track and unknown box of a video."""
    found: list[Finding] = [
        Finding(category_of(item.name), f"QuickTime:{item.name}", item.value, item.size)
        for item in metadata_items(source)
    ]
    video_tracks = 0
    for path, box in walk(source):
        if box.type == b"mvhd":
            found += _date_finding(source, box)
        elif box.type == b"trak":
            handler, entry = track_kind(source, box)
            video_tracks += handler == b"vide"
            if handler not in (b"vide", b"soun") or (handler == b"vide" and video_tracks > 1):
                name = f"{handler.decode('latin-1')} track ({entry.decode('latin-1')})"
                found.append(Finding("other", name, size=box.size))
        elif _unknown_box(path, box):
            found.append(Finding("other", f"box {box.name}", size=box.size))
    return tuple(found)


def category_of(key: str) -> str:
    lowered = key.lower().removeprefix("com.apple.quicktime.")
    for category, needles in _CATEGORIES:
        if any(needle in lowered for needle in needles):
            return category
    return "other"


def track_handlers(source: BinaryIO) -> list[bytes]:
    """The handler type of every track, in file order."""
    return [handler for handler, _entry in track_kinds(source)]


def track_kinds(source: BinaryIO) -> list[tuple[bytes, bytes]]:
    """The handler type and first sample entry type of every track, in file order."""
    return [track_kind(source, box) for path, box in walk(source) if box.type == b"trak" and len(path) == 1]


def track_kind(source: BinaryIO, track: Box) -> tuple[bytes, bytes]:
    """The handler type (``vide``, ``soun``, ``meta``, ``text``...) and first sample entry type of a track."""
    handler, entry = b"????", b"????"
    media = find_child(source, track, b"mdia")
    if media is None:
        return handler, entry
    hdlr = find_child(source, media, b"hdlr")
    if hdlr is not None and hdlr.end - hdlr.start >= 12:
        handler = read_exact(source, hdlr.start + 8, 4)
    information = find_child(source, media, b"minf")
    table = find_child(source, information, b"stbl") if information else None
    descriptions = find_child(source, table, b"stsd") if table else None
    if descriptions is not None and descriptions.end - descriptions.start >= 16:
        entry = read_exact(source, descriptions.start + 12, 4)
    return handler, entry


def frame_size(source: BinaryIO) -> tuple[int | None, int | None]:
    """Width and height of the first video track, from its track header."""
    for _path, box in walk(source):
        if box.type == b"trak" and track_kind(source, box)[0] == b"vide":
            header = find_child(source, box, b"tkhd")
            if header is not None and header.end - header.start >= 8:
                width, height = struct.unpack(">II", read_exact(source, header.end - 8, 8))
                return width >> 16, height >> 16
    return None, None


def _date_finding(source: BinaryIO, header: Box) -> list[Finding]:
    version = read_exact(source, header.start, 1)[0]
    raw = read_exact(source, header.start + 4, 8 if version == 1 else 4)
    seconds = int.from_bytes(raw, "big")
    if seconds == 0:
        return []
    try:
        shown = (QUICKTIME_EPOCH + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S UTC")
    except OverflowError:
        shown = None
    return [Finding("time", CREATE_DATE, shown)]


def _unknown_box(path: tuple[bytes, ...], box: Box) -> bool:
    # Metadata containers are reported item by item above; sample tables and codec boxes are structure.
    if b"udta" in path or b"meta" in path or box.type in (b"udta", b"meta", b"trak"):
        return False
    if not path:
        return box.type not in TOP_LEVEL
    return path[-1] in (b"moov", b"trak", b"mdia", b"minf") and box.type not in STRUCTURE
