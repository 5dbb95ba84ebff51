"""What a PNG's metadata chunks hold: text keywords, embedded EXIF/XMP, times and colour chunks, each as a
Finding in its category (values for `inspect` only)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from watcher.errors import WatcherError
from watcher.formats.base import Finding
from watcher.formats.exif import read_exif
from watcher.formats.icc import identity_findings
from watcher.formats.xmp import read_xmp

COLOUR_CHUNKS = frozenset({b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"cICP"})
_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt"})
_XMP_KEYWORD = "XML:com.adobe.xmp"
_KEYWORD_CATEGORIES = (
    dict.fromkeys(("author", "copyright"), "copyright")
    | dict.fromkeys(("creation time", "date:create", "date:modify", "date:timestamp"), "time")
    | dict.fromkeys(("software", "source"), "device")
)
_MAX_INFLATED = 16 << 20  # bound on a compressed text chunk, against decompression bombs
_PREVIEW = 200


def printable(raw: bytes) -> str:
    return "".join(c if c.isprintable() else "?" for c in raw.decode("latin-1"))[:79]


def _inflate(data: bytes, limit: int) -> bytes:
    try:
        return zlib.decompressobj().decompress(data, limit)
    except zlib.error:
        return b""


@dataclass(frozen=True)
class _Text:
    keyword: str
    text: bytes  # decoded payload (Latin-1 for tEXt/zTXt, UTF-8 for iTXt)
    encoding: str


def _parse_text(kind: bytes, data: bytes) -> _Text:
    raw_keyword, _, rest = data.partition(b"\0")
    keyword = printable(raw_keyword)
    # Only XMP is inflated whole (to classify it); other text is inflated just enough for a preview.
    limit = _MAX_INFLATED if keyword == _XMP_KEYWORD else 4 * _PREVIEW
    if kind == b"tEXt":
        return _Text(keyword, rest, "latin-1")
    if kind == b"zTXt":
        return _Text(keyword, _inflate(rest[1:], limit), "latin-1")
    compressed = rest[:1] == b"\x01"
    _language, _, rest = rest[2:].partition(b"\0")
    _translated, _, text = rest.partition(b"\0")
    return _Text(keyword, _inflate(text, limit) if compressed else text, "utf-8")


def _text_category(keyword: str) -> str:
    lowered = keyword.lower()
    if lowered.startswith("exif:gps"):
        return "location"
    if lowered.startswith(("raw profile type", "exif:")):
        return "other"
    return _KEYWORD_CATEGORIES.get(lowered, "text")


def _readable(reader: Callable[[bytes], tuple[Finding, ...]], data: bytes) -> tuple[Finding, ...]:
    """An embedded EXIF/XMP block's findings; a block too damaged to read is dropped whole anyway."""
    try:
        return reader(data)
    except WatcherError:
        return ()


def _icc_findings(data: bytes) -> tuple[Finding, ...]:
    """Identity items inside an iCCP chunk's profile (a chunk that does not inflate is named as it is)."""
    _name, _sep, rest = data.partition(b"\0")
    try:
        profile = zlib.decompressobj().decompress(rest[1:], _MAX_INFLATED)
    except zlib.error:
        return ()
    return identity_findings(profile)


def chunk_findings(kind: bytes, data: bytes) -> tuple[Finding, ...]:
    """What one metadata chunk holds; values are for ``inspect`` only, the removal log takes names."""
    name = f"PNG {kind.decode('latin-1')} ({len(data)} bytes)"
    if kind in _TEXT_CHUNKS:
        text = _parse_text(kind, data)
        name = f"PNG {kind.decode('latin-1')} '{text.keyword}' ({len(data)} bytes)"
        if text.keyword == _XMP_KEYWORD and (found := _readable(read_xmp, text.text)):
            return found
        value = text.text.decode(text.encoding, "replace")[:_PREVIEW]
        return (Finding(_text_category(text.keyword), name, value, len(data)),)
    if kind == b"eXIf" and (found := _readable(read_exif, data)):
        return found
    if kind == b"iCCP":
        return (Finding("color_profile", name, None, len(data)), *_icc_findings(data))
    if kind in COLOUR_CHUNKS:
        return (Finding("color_profile", name, None, len(data)),)
    if kind == b"tIME" and len(data) == 7:
        year, month, day, hour, minute, second = struct.unpack(">HBBBBB", data)
        when = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}"
        return (Finding("time", name, when, len(data)),)
    category = "provenance" if kind == b"caBX" else "other"
    return (Finding(category, name, None, len(data)),)
