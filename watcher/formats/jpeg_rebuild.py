"""Rebuild a JPEG from a keep-list of segments, streaming the compressed data byte for byte."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from watcher.errors import CorruptMedia
from watcher.formats.base import Finding, RemovalLog
from watcher.formats.exif import filter_exif
from watcher.formats.icc import clean_profile, split_for_jpeg
from watcher.formats.iptc import read_irb
from watcher.formats.jpeg_coding import check_coding_segment
from watcher.formats.jpeg_header import (
    EXIF_PREFIX,
    ICC_PREFIX,
    KINDS,
    XMP_PREFIX,
    IccChunks,
    clean_adobe,
    clean_jfif,
    jfif_thumbnail_size,
    segment_kind,
    segment_label,
)
from watcher.formats.jpeg_segments import (
    CODING_MARKERS,
    EOI,
    SOF_MARKERS,
    SOI,
    SOS,
    PictureRecord,
    Segment,
    SegmentReader,
)
from watcher.formats.xmp import filter_xmp, read_xmp
from watcher.rules.profile import Profile

# Tables and frame headers held back until the first scan; real files need a few kilobytes.
MAX_PENDING_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Rebuilt:
    digest: str  # PictureRecord.digest(): the coding segments' checksum and the scans' source extents
    width: int | None
    height: int | None
    orientation: int | None  # the source's EXIF Orientation (1..8) when readable
    notes: tuple[str, ...]


def encode(marker: int, payload: bytes) -> bytes:
    return Segment(marker, payload, 0).encoded()


@dataclass
class _Header:
    """The metadata segments seen before the first scan that may be carried over."""

    jfif: bytes | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    adobe: bytes | None = None
    icc: IccChunks = field(default_factory=IccChunks)
    orientation: int | None = None
    notes: list[str] = field(default_factory=list)


def rebuild(source: BinaryIO, output: BinaryIO, profile: Profile, log: RemovalLog) -> Rebuilt:
    """Copy ``source`` to ``output`` keeping only decoding segments and what ``profile`` keeps."""
    picture = PictureRecord(source.tell())
    reader = SegmentReader(source)
    header = _Header()
    pending: list[bytes] = []
    held = 0
    started = False
    size: tuple[int, int] | None = None
    for item in reader.segments():
        if isinstance(item, bytes):
            picture.entropy(item)
            output.write(item)
        elif item.marker in CODING_MARKERS:
            check_coding_segment(item)
            encoded = item.encoded()
            picture.coding(encoded)
            if item.marker == SOS:
                picture.scan(item)
            if item.marker in SOF_MARKERS and size is None:
                size = _frame_size(item)
            if item.marker == SOS and not started:
                if size is None:
                    raise CorruptMedia("the first scan comes before any frame header (no SOF)")
                output.write(_header_bytes(header, profile, log) + b"".join(pending))
                started = True
            if started:
                output.write(encoded)
            else:
                pending.append(encoded)
                held += len(encoded)
                if held > MAX_PENDING_BYTES:
                    raise CorruptMedia("more than 16 MiB of tables before the first scan")
        elif item.marker == EOI:
            output.write(encode(EOI, b""))
        elif item.marker != SOI:
            _collect(item, header, log, first_image=not started)
    if not started:
        raise CorruptMedia("the image has no scan (SOS): nothing to decode")
    _log_trailer(reader, log)
    width, height = size if size else (None, None)
    return Rebuilt(picture.digest(), width, height, header.orientation, tuple(header.notes))


def _frame_size(segment: Segment) -> tuple[int, int]:
    if len(segment.payload) < 6:
        raise CorruptMedia(f"{segment.name} frame header is too short")
    height = int.from_bytes(segment.payload[1:3], "big")
    width = int.from_bytes(segment.payload[3:5], "big")
    if width == 0:
        raise CorruptMedia("the frame header declares a zero width")
    return width, height


def _collect(segment: Segment, header: _Header, log: RemovalLog, *, first_image: bool) -> None:
    kind = segment_kind(segment) if segment.marker >= 0xE0 else "vendor"
    payload = segment.payload
    label = segment_label(segment, kind)
    if first_image and kind == "jfif" and header.jfif is None and (clean := clean_jfif(payload)):
        header.jfif = clean
        if jfif_thumbnail_size(payload):
            log.remove("thumbnails", f"APP0 JFIF thumbnail ({jfif_thumbnail_size(payload):,} bytes)")
        return
    if first_image and kind == "exif" and header.exif is None:
        header.exif = payload[len(EXIF_PREFIX) :]
        return
    if first_image and kind == "xmp" and header.xmp is None:
        header.xmp = payload[len(XMP_PREFIX) :]
        return
    if first_image and kind == "adobe" and header.adobe is None:
        header.adobe = clean_adobe(payload)
        return
    if first_image and kind == "icc":
        header.icc.add(payload)
        return
    category = "other" if kind in ("jfif", "exif", "xmp", "adobe", "icc") else KINDS[kind][0]
    log.remove(category, label)
    _log_contents(kind, payload, log)


def _log_contents(kind: str, payload: bytes, log: RemovalLog) -> None:
    """Name the items inside removed XMP and IRB segments, so the log says what they held."""
    try:
        if kind == "xmp":
            findings = read_xmp(payload[len(XMP_PREFIX) :])
        elif kind == "irb":
            findings = read_irb(payload)
        else:
            return
    except CorruptMedia:
        return
    for finding in findings:
        log.remove(finding.category, finding.name)


def _header_bytes(header: _Header, profile: Profile, log: RemovalLog) -> bytes:
    parts = [encode(SOI, b"")]
    if header.jfif is not None:
        parts.append(encode(0xE0, header.jfif))
    if header.exif is not None:
        parts += _exif_segments(header, profile, log)
    if header.xmp is not None:
        parts += _xmp_segments(header.xmp, profile, log)
    icc_parts = header.icc.segments()
    if icc_parts is not None and profile.color_profile == "keep":
        parts += [encode(0xE2, part) for part in _clean_icc(icc_parts, header, log)]
    elif icc_parts is not None:
        log.remove("color_profile", f"APP2 ICC profile ({header.icc.total:,} bytes)")
    elif header.icc.problem:
        log.remove("other", f"APP2 ICC profile ({header.icc.total:,} bytes, malformed)")
        header.notes.append(f"ICC profile dropped: {header.icc.problem}")
    if header.adobe is not None:
        parts.append(encode(0xEE, header.adobe))
    return b"".join(parts)


def _clean_icc(parts: tuple[bytes, ...], header: _Header, log: RemovalLog) -> tuple[bytes, ...] | list[bytes]:
    """The ICC chunks as they were when the profile is already clean, else the cleaned profile re-split."""
    try:
        cleaned = clean_profile(b"".join(part[len(ICC_PREFIX) + 2 :] for part in parts))
    except CorruptMedia as error:
        log.remove("other", f"APP2 ICC profile ({header.icc.total:,} bytes, malformed)")
        header.notes.append(f"ICC profile dropped: {error}")
        return ()
    cleaned.record(log)
    return split_for_jpeg(cleaned.data, ICC_PREFIX) if cleaned.removed else parts


def _exif_segments(header: _Header, profile: Profile, log: RemovalLog) -> list[bytes]:
    assert header.exif is not None
    try:
        filtered = filter_exif(header.exif, profile)
        header.orientation = filtered.orientation
    except CorruptMedia as error:
        log.remove("other", f"APP1 EXIF ({len(header.exif):,} bytes, unreadable)")
        header.notes.append(f"EXIF could not be read ({error}); removed whole")
        return []
    log.remove_all(filtered.removed)
    for name in filtered.kept:
        log.keep(name)
    return [encode(0xE1, EXIF_PREFIX + filtered.data)] if filtered.data else []


def trailer_finding(chunks: Iterator[bytes]) -> Finding | None:
    """What follows EOI: secondary images (MPO frames, gain maps) or any other trailer, by size."""
    size = 0
    head = b""
    for chunk in chunks:
        head = head or chunk[:65536]
        size += len(chunk)
    if not size:
        return None
    # MPO frames and gain maps follow the first image, sometimes after padding.
    if b"\xff\xd8\xff" in head:
        return Finding("embedded_images", f"secondary image(s) after EOI ({size:,} bytes)", size=size)
    return Finding("trailer", f"trailer after EOI ({size:,} bytes)", size=size)


def _xmp_segments(packet: bytes, profile: Profile, log: RemovalLog) -> list[bytes]:
    label = f"APP1 XMP ({len(packet) + len(XMP_PREFIX):,} bytes)"
    try:
        filtered = filter_xmp(packet, profile)
    except CorruptMedia:
        log.remove("other", label + ", unreadable")
        return []
    log.remove("other", label)
    log.remove_all(filtered.removed)
    for name in filtered.kept:
        log.keep(name)
    return [encode(0xE1, XMP_PREFIX + filtered.data)] if filtered.data else []


def _log_trailer(reader: SegmentReader, log: RemovalLog) -> None:
    finding = trailer_finding(reader.rest())
    if finding is not None:
        log.remove(finding.category, finding.name)
