"""What each non-coding JPEG segment is, what it holds, and the reduced forms of the ones we keep."""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.errors import CorruptMedia
from watcher.formats.base import Finding
from watcher.formats.exif import read_exif
from watcher.formats.iptc import read_irb
from watcher.formats.jpeg_segments import Segment
from watcher.formats.xmp import read_xmp

EXIF_PREFIX = b"Exif\0\0"
XMP_PREFIX = b"http://ns.adobe.com/xap/1.0/\0"
XMP_EXTENSION_PREFIX = b"http://ns.adobe.com/xmp/extension/\0"
ICC_PREFIX = b"ICC_PROFILE\0"
MAX_ICC_BYTES = 64 * 1024 * 1024

# kind -> (category when removed, label)
KINDS: dict[str, tuple[str, str]] = {
    "jfif": ("other", "JFIF"),
    "jfxx": ("thumbnails", "JFXX thumbnail"),
    "exif": ("other", "EXIF"),
    "xmp": ("other", "XMP"),
    "xmp_extension": ("other", "extended XMP"),
    "icc": ("color_profile", "ICC profile chunk"),
    "mpf": ("embedded_images", "MPF index"),
    "irb": ("other", "Photoshop IRB"),
    "jumbf": ("provenance", "JUMBF/C2PA"),
    "adobe": ("other", "Adobe"),
    "comment": ("text", "comment"),
    "vendor": ("other", "vendor data"),
}


def segment_kind(segment: Segment) -> str:
    """One of KINDS for an APPn/COM segment."""
    marker, payload = segment.marker, segment.payload
    prefixes = {
        0xE0: ((b"JFIF\0", "jfif"), (b"JFXX\0", "jfxx")),
        0xE1: ((EXIF_PREFIX, "exif"), (XMP_PREFIX, "xmp"), (XMP_EXTENSION_PREFIX, "xmp_extension")),
        0xE2: ((ICC_PREFIX, "icc"), (b"MPF\0", "mpf")),
        0xED: ((b"Photoshop 3.0\0", "irb"),),
        0xEE: ((b"Adobe", "adobe"),),
    }
    for prefix, kind in prefixes.get(marker, ()):
        if payload.startswith(prefix):
            return kind
    if marker == 0xEB:
        return "jumbf"
    return "comment" if marker == 0xFE else "vendor"


def segment_label(segment: Segment, kind: str) -> str:
    """e.g. "APP1 XMP (3,204 bytes)": names and sizes only, never contents."""
    return f"{segment.name} {KINDS[kind][1]} ({len(segment.payload):,} bytes)"


def segment_findings(segment: Segment) -> tuple[Finding, ...]:
    """Every metadata item in one APPn/COM segment, for ``inspect``."""
    kind = segment_kind(segment)
    category, _label = KINDS[kind]
    label = segment_label(segment, kind)
    payload = segment.payload
    try:
        if kind == "exif":
            return read_exif(payload[len(EXIF_PREFIX) :])
        if kind == "xmp":
            return read_xmp(payload[len(XMP_PREFIX) :])
    except CorruptMedia as error:
        return (Finding("other", f"{label}, unreadable: {error}", size=len(payload)),)
    if kind == "irb":
        return read_irb(payload)
    if kind == "jfif":
        thumbnail = jfif_thumbnail_size(payload)
        return (Finding("thumbnails", "JFIF thumbnail", size=thumbnail),) if thumbnail else ()
    if kind in ("adobe", "icc"):
        return ()
    return (Finding(category, label, size=len(payload)),)


def jfif_thumbnail_size(payload: bytes) -> int:
    return max(0, len(payload) - 14)


def clean_jfif(payload: bytes) -> bytes | None:
    """The JFIF header without its thumbnail, or None when too short to be one."""
    if len(payload) < 14:
        return None
    return payload[:12] + b"\0\0"


def clean_adobe(payload: bytes) -> bytes:
    """The Adobe APP14 fields a decoder reads (version, flags, colour transform), nothing after them."""
    return payload[:12]


@dataclass
class IccChunks:
    """The ICC profile's APP2 chunks, validated as one complete sequence 1..N."""

    chunks: dict[int, bytes] = field(default_factory=dict)
    counts: set[int] = field(default_factory=set)
    problem: str | None = None
    total: int = 0

    def add(self, payload: bytes) -> None:
        if len(payload) < len(ICC_PREFIX) + 2:
            self.problem = "an ICC chunk has no sequence header"
            return
        sequence, count = payload[len(ICC_PREFIX)], payload[len(ICC_PREFIX) + 1]
        self.total += len(payload)
        self.counts.add(count)
        if sequence in self.chunks or not 1 <= sequence <= count:
            self.problem = f"ICC chunk {sequence} of {count} is duplicated or out of range"
        elif self.total > MAX_ICC_BYTES:
            self.problem = "ICC profile exceeds the size limit"
        else:
            self.chunks[sequence] = payload

    def segments(self) -> tuple[bytes, ...] | None:
        """The chunks' payloads in order, or None when the sequence is incomplete or malformed."""
        if not self.chunks:
            return None
        if len(self.counts) != 1:
            self.problem = self.problem or "ICC chunks disagree on the chunk count"
        elif sorted(self.chunks) != list(range(1, max(self.counts) + 1)):
            self.problem = self.problem or "ICC chunk sequence is incomplete"
        if self.problem:
            return None
        return tuple(self.chunks[key] for key in sorted(self.chunks))

    def profile(self) -> bytes | None:
        parts = self.segments()
        return None if parts is None else b"".join(part[len(ICC_PREFIX) + 2 :] for part in parts)
