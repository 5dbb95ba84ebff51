"""TIFF: keep only the first image's structure tags and copy its strips or tiles byte for byte.

RAW camera files built on TIFF (DNG, CR2, NEF, ARW...) share its magic number and are refused, not cleaned:
their IFD0 is usually a small preview, and publishing it would silently drop the real picture.
"""

from __future__ import annotations

from dataclasses import replace
from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, UnsupportedFormat, VerifyFailed
from watcher.formats.base import Finding, Inventory, RemovalLog, Sanitized, read_whole
from watcher.formats.icc import clean_profile, is_clean
from watcher.formats.signatures import is_tiff
from watcher.formats.tiff_findings import ifd0_findings, page_findings
from watcher.formats.tiff_pixels import decode_pixels
from watcher.formats.tiff_structure import (
    Entry,
    Header,
    Ifd,
    first_integer,
    image_data,
    read_chain,
    read_header,
)
from watcher.formats.tiff_tags import ICC_PROFILE, ORIENTATION, STRUCTURAL, allowed_tags, raw_kind, tag_name
from watcher.formats.tiff_writer import write_tiff
from watcher.rules.profile import Profile

MAX_TIFF_BYTES = 2 * 1024 * 1024 * 1024
COMPRESSION = 259
JPEG_COMPRESSIONS = (6, 7)  # old-style and new-style JPEG-in-TIFF


def _clean_icc(entry: Entry, log: RemovalLog) -> Entry | None:
    """The ICC profile entry reduced to its colour data; None when the profile is unreadable."""
    try:
        cleaned = clean_profile(entry.value)
    except CorruptMedia as error:
        log.remove("other", f"TIFF ICC profile ({len(entry.value):,} bytes, unreadable: {error})")
        return None
    cleaned.record(log)
    return replace(entry, value=cleaned.data, count=len(cleaned.data)) if cleaned.removed else entry


def _parse(data: bytes) -> tuple[Header, tuple[Ifd, ...]]:
    header = read_header(data)
    pages = read_chain(data, header)
    kind = raw_kind(data, header, pages[0])
    if kind is not None:
        raise UnsupportedFormat(
            f"RAW camera file ({kind}): not published by default; export a JPEG or TIFF from a RAW editor to share it"
        )
    return header, pages


class TiffHandler:
    name: ClassVar[str] = "tiff"
    extension: ClassVar[str] = ".tif"
    extensions: ClassVar[tuple[str, ...]] = (".tif", ".tiff")

    def sniff(self, head: bytes) -> bool:
        return is_tiff(head)

    def inspect(self, source: BinaryIO) -> Inventory:
        data = read_whole(source, MAX_TIFF_BYTES, "TIFF")
        header, pages = _parse(data)
        findings: list[Finding] = list(ifd0_findings(data, header, pages[0], frozenset(STRUCTURAL)))
        findings += page_findings(header, pages)
        return Inventory(
            format=self.name,
            findings=tuple(findings),
            width=first_integer(pages[0], 256, header.order),
            height=first_integer(pages[0], 257, header.order),
        )

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        data = read_whole(source, MAX_TIFF_BYTES, "TIFF")
        header, pages = _parse(data)
        ifd0 = pages[0]
        image = image_data(data, ifd0, header.order)
        allowed = allowed_tags(profile)
        # A repeated tag is kept once: readers disagree on which copy wins.
        kept_entries = list({e.tag: e for e in reversed(ifd0.entries) if e.tag in allowed}.values())
        broken = [tag_name(entry.tag) for entry in kept_entries if not entry.complete]
        if broken:
            raise CorruptMedia(f"TIFF tag {broken[0]} points past the end of the file")
        log = RemovalLog()
        for finding in ifd0_findings(data, header, ifd0, allowed):
            log.remove(finding.category, finding.name)
        for finding in page_findings(header, pages):
            log.remove(finding.category, finding.name)
        cleaned = (_clean_icc(entry, log) if entry.tag == ICC_PROFILE else entry for entry in kept_entries)
        kept_entries = [entry for entry in cleaned if entry is not None]
        for entry in kept_entries:
            if entry.tag not in STRUCTURAL and entry.tag != ICC_PROFILE:
                log.keep(f"EXIF:{tag_name(entry.tag)}")
        output.write(write_tiff(header.order, kept_entries, data, image))
        notes: tuple[str, ...] = ()
        if profile.orientation == "apply" and any(entry.tag == ORIENTATION for entry in kept_entries):
            notes = ("orientation kept as a tag: TIFF image data is copied, never rotated",)
        return Sanitized(self.name, self.extension, True, log.removed(), log.kept(), notes)

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        written = read_whole(output, MAX_TIFF_BYTES, "TIFF")
        original = read_whole(source, MAX_TIFF_BYTES, "TIFF")
        try:
            header = read_header(written)
            ifd0 = read_chain(written, header)[0]
            image = image_data(written, ifd0, header.order)
        except (CorruptMedia, UnsupportedFormat) as error:
            raise VerifyFailed(f"the TIFF output does not parse: {error}") from error
        if ifd0.next_offset != 0:
            raise VerifyFailed("the TIFF output has more than one page")
        if write_tiff(header.order, ifd0.entries, written, image) != written:
            # Our writer's layout leaves no gaps: any other byte (appended, hidden between values) is foreign.
            raise VerifyFailed("the TIFF output holds bytes outside its directory, values and image data")
        extra = sorted(tag_name(e.tag) for e in ifd0.entries if e.tag not in allowed_tags(profile))
        if extra:
            raise VerifyFailed(f"the TIFF output still carries {', '.join(extra)}")
        if any(e.tag == ICC_PROFILE and not is_clean(e.value) for e in ifd0.entries):
            raise VerifyFailed("the TIFF output's ICC profile carries more than its colour data")
        source_header, source_pages = _parse(original)
        source_image = image_data(original, source_pages[0], source_header.order)
        if image.digest(written) != source_image.digest(original):
            raise VerifyFailed("the TIFF output's image data differs from the source's")
        source_pixels = decode_pixels(original)
        if source_pixels is not None and decode_pixels(written) != source_pixels:
            raise VerifyFailed("the TIFF output does not decode to the source's pixels")
        if source_pixels is None and first_integer(ifd0, COMPRESSION, header.order) in JPEG_COMPRESSIONS:
            # Strips that claim to be JPEG but do not decode are what other readers take for an embedded
            # preview image: refuse rather than publish something that looks like hidden content.
            raise VerifyFailed("the TIFF output declares JPEG compression but its image data does not decode")


HANDLER = TiffHandler()
