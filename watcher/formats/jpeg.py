"""The JPEG handler: rebuild from a keep-list of segments, copy the compressed data byte for byte.

Kept: SOI, DQT/DHT/DAC/SOF/DRI/SOS and the entropy-coded data, EOI, a JFIF header without its thumbnail,
the Adobe APP14 fields (needed to decode CMYK/YCCK), the ICC profile when the profile keeps colour, and a
fresh minimal EXIF block from ``filter_exif``. Everything else (XMP, IPTC/IRB, comments, MPF and the
secondary images after EOI, JUMBF/C2PA, vendor APPn, trailers) is removed and named in the removal log.
XMP is rebuilt as a fresh packet holding only the simple (text or array) properties a profile keeps;
structured ones (face regions, contact details, location structures) and extended XMP never survive.
"""

from __future__ import annotations

import hashlib
from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats.base import Finding, Inventory, RemovalLog, Sanitized
from watcher.formats.exif import exif_orientation, read_exif
from watcher.formats.jpeg_header import (
    EXIF_PREFIX,
    XMP_PREFIX,
    IccChunks,
    segment_findings,
    segment_kind,
)
from watcher.formats.jpeg_orient import reorient
from watcher.formats.jpeg_rebuild import rebuild, trailer_finding
from watcher.formats.jpeg_segments import CODING_MARKERS, EOI, SOF_MARKERS, SOI, SOS, Segment, SegmentReader
from watcher.formats.xmp import read_xmp
from watcher.rules.profile import Profile


class JpegHandler:
    name: ClassVar[str] = "jpeg"
    extension: ClassVar[str] = ".jpg"
    extensions: ClassVar[tuple[str, ...]] = (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo")

    def sniff(self, head: bytes) -> bool:
        return head.startswith(b"\xff\xd8\xff")

    def inspect(self, source: BinaryIO) -> Inventory:
        reader = SegmentReader(source)
        findings: list[Finding] = []
        icc = IccChunks()
        size: tuple[int, int] | None = None
        for item in reader.segments():
            if isinstance(item, bytes):
                continue
            if item.marker in SOF_MARKERS and size is None and len(item.payload) >= 5:
                size = (int.from_bytes(item.payload[3:5], "big"), int.from_bytes(item.payload[1:3], "big"))
            if item.marker >= 0xE0 and segment_kind(item) == "icc":
                icc.add(item.payload)
            elif item.marker >= 0xE0:
                findings += segment_findings(item)
        if icc.chunks:
            findings.append(Finding("color_profile", "ICC profile", size=icc.total))
        if (trailer := trailer_finding(reader.rest())) is not None:
            findings.append(trailer)
        width, height = size if size else (None, None)
        return Inventory(self.name, tuple(findings), width, height)

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        log = RemovalLog()
        rebuilt = rebuild(source, output, profile, log)
        notes = list(rebuilt.notes)
        lossless = True
        digest: str | None = rebuilt.digest
        if profile.orientation == "apply" and rebuilt.orientation not in (None, 1):
            assert rebuilt.orientation is not None
            lossless, note = reorient(output, rebuilt.orientation, profile)
            notes.append(note)
            digest = None  # rotated coefficients: nothing to compare byte for byte
        return Sanitized(
            self.name, self.extension, lossless, log.removed(), log.kept(), tuple(notes), image_digest=digest
        )

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        output.seek(0)
        try:
            output_digest = _check_output(output, profile)
        except CorruptMedia as error:
            raise VerifyFailed(f"the output does not re-read as a complete JPEG: {error}") from None
        if result.image_digest is not None:
            expected = result.image_digest
        else:
            source.seek(0)
            source_digest, orientation = image_digest(source)
            rotated = profile.orientation == "apply" and orientation not in (None, 1)
            expected = output_digest if rotated or not result.lossless else source_digest
        if expected != output_digest:
            raise VerifyFailed("the output's compressed image data differs from the source's")


def image_digest(stream: BinaryIO) -> tuple[str, int | None]:
    """SHA-256 of the image-coding segments and entropy data, and the EXIF Orientation before the scan."""
    digest = hashlib.sha256()
    orientation: int | None = None
    seen_exif = scanning = False
    for item in SegmentReader(stream).segments():
        if isinstance(item, bytes):
            digest.update(item)
        elif item.marker in CODING_MARKERS:
            digest.update(item.encoded())
            scanning = scanning or item.marker == SOS
        elif not scanning and not seen_exif and item.marker == 0xE1 and segment_kind(item) == "exif":
            seen_exif = True
            try:
                orientation = exif_orientation(item.payload[len(EXIF_PREFIX) :])
            except CorruptMedia:
                orientation = None
    return digest.hexdigest(), orientation


def _check_output(output: BinaryIO, profile: Profile) -> str:
    """Re-read our own output; raise VerifyFailed for any segment outside the keep-list."""
    reader = SegmentReader(output)
    digest = hashlib.sha256()
    seen: set[str] = set()  # EXIF and XMP: one of each at most
    for item in reader.segments():
        if isinstance(item, bytes):
            digest.update(item)
        elif item.marker in CODING_MARKERS:
            digest.update(item.encoded())
        elif item.marker not in (SOI, EOI):
            kind = _check_segment(item, profile)
            if kind in seen:
                raise VerifyFailed(f"the output carries more than one {kind} segment")
            if kind:
                seen.add(kind)
    if any(reader.rest()):
        raise VerifyFailed("the output has bytes after its EOI marker")
    return digest.hexdigest()


def _check_segment(segment: Segment, profile: Profile) -> str:
    """The kind of an allowed segment that may appear once ("exif", "xmp"), "" for the others."""
    kind = segment_kind(segment) if segment.marker >= 0xE0 else "other"
    if kind == "jfif" and len(segment.payload) == 14 and segment.payload[12:] == b"\0\0":
        return ""
    if kind == "adobe" and len(segment.payload) <= 12:
        return ""
    if kind == "icc" and profile.color_profile == "keep":
        return ""
    if kind == "exif":
        _check_exif(segment.payload[len(EXIF_PREFIX) :], profile)
        return kind
    if kind == "xmp":
        _check_xmp(segment.payload[len(XMP_PREFIX) :], profile)
        return kind
    raise VerifyFailed(f"the output still carries a {segment.name} segment ({kind})")


def _check_exif(tiff: bytes, profile: Profile) -> None:
    try:
        findings = read_exif(tiff)
    except CorruptMedia as error:
        raise VerifyFailed(f"the output's EXIF block does not re-read: {error}") from None
    kept = profile.kept_categories()
    for finding in findings:
        if finding.category not in kept:
            raise VerifyFailed(f"the output's EXIF still holds {finding.name} ({finding.category})")
        if finding.category == "time" and profile.time == "date" and not _is_day(finding.value):
            raise VerifyFailed(f"the output's EXIF {finding.name} keeps more than the date")
        if finding.name == "EXIF:Orientation" and finding.value == "1":
            raise VerifyFailed("the output's EXIF holds a redundant Orientation 1")


def _check_xmp(packet: bytes, profile: Profile) -> None:
    try:
        findings = read_xmp(packet)
    except CorruptMedia as error:
        raise VerifyFailed(f"the output's XMP packet does not re-read: {error}") from None
    kept = profile.kept_categories() - {"orientation"}
    for finding in findings:
        if finding.category not in kept:
            raise VerifyFailed(f"the output's XMP still holds {finding.name} ({finding.category})")
        if finding.category == "time" and profile.time == "date" and len(finding.value or "") != 10:
            raise VerifyFailed(f"the output's XMP {finding.name} keeps more than the date")


def _is_day(value: str | None) -> bool:
    return value is not None and len(value) == 19 and value.endswith(" 00:00:00")


HANDLER = JpegHandler()
