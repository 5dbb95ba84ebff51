"""The JPEG handler: rebuild from a keep-list of segments, copy the compressed data byte for byte.

Kept: SOI, DQT/DHT/DAC/SOF/DRI/SOS and the entropy-coded data, EOI, a JFIF header without its thumbnail,
the Adobe APP14 fields (needed to decode CMYK/YCCK), the ICC profile when the profile keeps colour, and a
fresh minimal EXIF block from ``filter_exif``. Everything else (XMP, IPTC/IRB, comments, MPF and the
secondary images after EOI, JUMBF/C2PA, vendor APPn, trailers) is removed and named in the removal log.
XMP is rebuilt as a fresh packet holding only the simple (text or array) properties a profile keeps;
structured ones (face regions, contact details, location structures) and extended XMP never survive.
"""

from __future__ import annotations

from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats.base import Finding, Inventory, RemovalLog, Sanitized
from watcher.formats.exif import exif_orientation, read_exif
from watcher.formats.icc import identity_findings
from watcher.formats.jpeg_header import (
    EXIF_PREFIX,
    XMP_PREFIX,
    IccChunks,
    segment_findings,
    segment_kind,
)
from watcher.formats.jpeg_rebuild import rebuild, trailer_finding
from watcher.formats.jpeg_segments import (
    CODING_MARKERS,
    EOI,
    SOF_MARKERS,
    SOI,
    SOS,
    ScanChecksum,
    Segment,
    SegmentReader,
    SourceScans,
)
from watcher.formats.signatures import is_jpeg
from watcher.formats.xmp import read_xmp
from watcher.rules.profile import Profile


class JpegHandler:
    name: ClassVar[str] = "jpeg"
    extension: ClassVar[str] = ".jpg"
    extensions: ClassVar[tuple[str, ...]] = (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo")

    def sniff(self, head: bytes) -> bool:
        return is_jpeg(head)

    def inspect(self, source: BinaryIO) -> Inventory:
        reader = SegmentReader(source)
        findings: list[Finding] = []
        icc = IccChunks()
        size: tuple[int, int] | None = None
        for item in reader.segments():
            if isinstance(item, bytes):
                continue
            size = size or _frame_size(item)
            if item.marker >= 0xE0 and segment_kind(item) == "icc":
                icc.add(item.payload)
            elif item.marker >= 0xE0:
                findings += segment_findings(item)
        return _inventory([*findings, *_icc_findings(icc)], size, trailer_finding(reader.rest()))

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        log = RemovalLog()
        rebuilt = rebuild(source, output, profile, log)
        notes = list(rebuilt.notes)
        lossless = True
        digest: str | None = rebuilt.digest
        if profile.orientation == "apply" and rebuilt.orientation not in (None, 1):
            assert rebuilt.orientation is not None
            # Only this rule decodes or transforms pixels: Pillow and jpegtran are loaded when it is used.
            from watcher.formats.jpeg_orient import reorient

            lossless, note = reorient(output, rebuilt.orientation, profile)
            notes.append(note)
            digest = None  # rotated coefficients: nothing to compare byte for byte
        return Sanitized(
            self.name, self.extension, lossless, log.removed(), log.kept(), tuple(notes), image_digest=digest
        )

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> Inventory:
        output.seek(0)
        # A lossless rebuild noted where the source's scans lie: each output scan is compared with them.
        scans = SourceScans(source, result.image_digest) if result.image_digest is not None else None
        try:
            output_digest, inventory = _check_output(output, profile, scans)
        except CorruptMedia as error:
            raise VerifyFailed(f"the output does not re-read as a complete JPEG: {error}") from None
        if scans is not None:
            if output_digest != scans.coding or not scans.all_seen():
                raise VerifyFailed("the output's compressed image data differs from the source's")
            return inventory
        source.seek(0)
        source_digest, orientation = image_digest(source)
        rotated = profile.orientation == "apply" and orientation not in (None, 1)
        if result.lossless and not rotated and source_digest != output_digest:
            raise VerifyFailed("the output's compressed image data differs from the source's")
        return inventory


def image_digest(stream: BinaryIO) -> tuple[str, int | None]:
    """The ScanChecksum of the image-coding segments and entropy data, and the EXIF Orientation before
    the scan."""
    digest = ScanChecksum()
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


def _check_output(output: BinaryIO, profile: Profile, scans: SourceScans | None) -> tuple[str, Inventory]:
    """Re-read our own output; raise VerifyFailed for any segment outside the keep-list. Returns the
    picture's checksum (of the coding segments alone when ``scans`` checks the scans against the source's)
    and what ``inspect`` would list, gathered in the same pass."""
    reader = SegmentReader(output)
    digest = ScanChecksum()
    seen: set[str] = set()  # EXIF and XMP: one of each at most
    findings: list[Finding] = []
    icc = IccChunks()
    size: tuple[int, int] | None = None
    for item in reader.segments(scans):
        if isinstance(item, bytes):
            digest.update(item)
        elif item.marker in CODING_MARKERS:
            digest.update(item.encoded())
            size = size or _frame_size(item)
        elif item.marker not in (SOI, EOI):
            kind, items = _check_segment(item, profile)
            if kind in seen:
                raise VerifyFailed(f"the output carries more than one {kind} segment")
            if kind in ("exif", "xmp"):
                seen.add(kind)
            elif kind == "icc":
                icc.add(item.payload)
            findings += items
    if any(reader.rest()):
        raise VerifyFailed("the output has bytes after its EOI marker")
    icc_items = _icc_findings(icc)
    if icc.chunks and icc.problem:
        raise VerifyFailed(f"the output's ICC chunks are malformed: {icc.problem}")
    if len(icc_items) > 1:  # the profile itself, then anything in it besides colour data
        raise VerifyFailed("the output's ICC profile carries more than its colour data")
    return digest.hexdigest(), _inventory([*findings, *icc_items], size)


def _icc_findings(icc: IccChunks) -> list[Finding]:
    """The ICC profile as one item, then what it carries besides its colour data (nothing in a clean one)."""
    if not icc.chunks:
        return []
    profile = icc.profile()
    identity = identity_findings(profile) if profile is not None else ()
    return [Finding("color_profile", "ICC profile", size=icc.total), *identity]


def _frame_size(segment: Segment) -> tuple[int, int] | None:
    """(width, height) from a frame header; None for any other segment or a header too short to say."""
    if segment.marker not in SOF_MARKERS or len(segment.payload) < 5:
        return None
    return int.from_bytes(segment.payload[3:5], "big"), int.from_bytes(segment.payload[1:3], "big")


def _inventory(
    findings: list[Finding], size: tuple[int, int] | None, trailer: Finding | None = None
) -> Inventory:
    """What inspect() lists: the segments' items and the ICC profile's (``_icc_findings``), then the bytes
    after EOI."""
    if trailer is not None:
        findings.append(trailer)
    width, height = size if size else (None, None)
    return Inventory(HANDLER.name, tuple(findings), width, height)


def _check_segment(segment: Segment, profile: Profile) -> tuple[str, tuple[Finding, ...]]:
    """An allowed segment's kind and the items in it (as ``segment_findings`` lists them)."""
    kind = segment_kind(segment) if segment.marker >= 0xE0 else "other"
    if kind == "jfif" and len(segment.payload) == 14 and segment.payload[12:] == b"\0\0":
        return kind, ()
    if kind == "adobe" and len(segment.payload) <= 12:
        return kind, ()
    if kind == "icc" and profile.color_profile == "keep":
        return kind, ()
    if kind == "exif":
        return kind, _check_exif(segment.payload[len(EXIF_PREFIX) :], profile)
    if kind == "xmp":
        return kind, _check_xmp(segment.payload[len(XMP_PREFIX) :], profile)
    raise VerifyFailed(f"the output still carries a {segment.name} segment ({kind})")


def _check_exif(tiff: bytes, profile: Profile) -> tuple[Finding, ...]:
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
    return findings


def _check_xmp(packet: bytes, profile: Profile) -> tuple[Finding, ...]:
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
    return findings


def _is_day(value: str | None) -> bool:
    return value is not None and len(value) == 19 and value.endswith(" 00:00:00")


HANDLER = JpegHandler()
