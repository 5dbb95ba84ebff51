"""Names and categories of what a TIFF carries beyond its first image's structure.

IFD0 tags are named by our own table; the Exif and GPS sub-directories are read with the shared EXIF reader so
their tags get the same names as in every other format, and an XMP packet with the shared XMP reader.
"""

from __future__ import annotations

from collections.abc import Iterator

from watcher.errors import CorruptMedia
from watcher.formats.base import Finding
from watcher.formats.exif import MAX_EXIF_BYTES, parse_exif
from watcher.formats.exif_tags import classify
from watcher.formats.icc import identity_findings
from watcher.formats.tiff_structure import Header, Ifd, first_integer
from watcher.formats.tiff_tags import (
    EXIF_IFD,
    GPS_IFD,
    ICC_PROFILE,
    NAMED,
    XMP_PACKET,
    tag_category,
    tag_name,
)
from watcher.formats.xmp import read_xmp

_BLOB_TYPES = (1, 7)
_POINTERS = frozenset({EXIF_IFD, GPS_IFD})  # BYTE and UNDEFINED values are blobs: report their size


def ifd0_findings(data: bytes, header: Header, ifd0: Ifd, kept: frozenset[int]) -> Iterator[Finding]:
    """Every IFD0 tag not in ``kept``, and every tag of the sub-directories IFD0 points at."""
    for entry in ifd0.entries:
        if entry.tag in kept or entry.tag in _POINTERS:
            continue  # pointers are itemized by what they point at
        if entry.tag == XMP_PACKET:
            yield from _xmp_findings(entry.value)
            continue
        size = len(entry.value) if entry.field_type in _BLOB_TYPES or entry.tag in NAMED else None
        yield Finding(tag_category(entry.tag), f"EXIF:{tag_name(entry.tag)}", None, size)
        if entry.tag == ICC_PROFILE:
            yield from identity_findings(entry.value)
    yield from _sub_directory_findings(data)


def _xmp_findings(packet: bytes) -> Iterator[Finding]:
    try:
        found = read_xmp(packet)
    except CorruptMedia:
        found = ()
    if not found:
        yield Finding("other", "XMP packet", None, len(packet))
    yield from (Finding(f.category, f.name, None, f.size) for f in found)


def _sub_directory_findings(data: bytes) -> Iterator[Finding]:
    """Tags of the Exif, GPS and Interop directories (IFD0's own tags are named above; pages separately)."""
    if len(data) > MAX_EXIF_BYTES:
        # Large scans: the reader refuses blocks this big, so name the sub-directories coarsely.
        yield Finding("other", "EXIF sub-directories (not itemized)")
        return
    try:
        parsed = parse_exif(data)
    except CorruptMedia:
        yield Finding("other", "EXIF sub-directories (unreadable)")
        return
    for entry in parsed.entries:
        if entry.ifd in ("IFD0", "IFD1"):
            continue
        yield Finding(classify(entry.ifd, entry.name), entry.label)
    for ifd in parsed.unreadable:
        if ifd != "IFD1":
            yield Finding("location" if ifd == "GPS" else "other", f"EXIF:{ifd} (unreadable)")


def page_findings(header: Header, pages: tuple[Ifd, ...]) -> Iterator[Finding]:
    """Every page after the first: reduced-resolution pages are thumbnails, others further images."""
    for number, page in enumerate(pages[1:], start=2):
        reduced = (first_integer(page, 254, header.order, 0) or 0) & 1
        category = "thumbnails" if reduced else "embedded_images"
        yield Finding(category, f"TIFF page {number}" + (" (reduced-resolution)" if reduced else ""))
