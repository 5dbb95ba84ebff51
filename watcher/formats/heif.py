"""HEIF/HEIC/AVIF stills: decode the primary image upright and re-encode it, so everything else is gone by
construction (EXIF, XMP, thumbnails, depth and gain maps, Samsung motion video and trailers, unknown boxes).

By default the copy is a JPEG, which every recipient can open; ``heif_output: keep`` re-encodes the container.
Neither is lossless, and the notes say so.
"""

from __future__ import annotations

from typing import BinaryIO, ClassVar

from watcher.errors import CorruptMedia, UnsupportedFormat, VerifyFailed
from watcher.formats.base import Finding, Inventory, RemovalLog, Sanitized, read_whole
from watcher.formats.heif_boxes import AVIF_BRANDS, Layout, layout
from watcher.formats.heif_decode import HeifMetadata, open_primary
from watcher.formats.heif_findings import box_findings, item_findings, metadata_findings
from watcher.formats.heif_output import (
    SRGB_LIKE_PRIMARIES,
    check_decodes,
    check_heif,
    check_jpeg,
    encode_heif,
    encode_jpeg,
)
from watcher.formats.icc import clean_profile, identity_findings
from watcher.formats.signatures import is_heif
from watcher.rules.profile import Profile

MAX_HEIF_BYTES = 512 * 1024 * 1024


def _open(data: bytes) -> tuple[Layout, bool]:
    if not is_heif(data[:64]):
        raise UnsupportedFormat("ISO media file without a HEIF/AVIF image brand: not published by default")
    found = layout(data)
    avif = bool(found.brands & AVIF_BRANDS) or any(item.kind == "av01" for item in found.items)
    return found, avif


def _findings(found: Layout, metadata: HeifMetadata) -> list[Finding]:
    return [*box_findings(found), *item_findings(found), *metadata_findings(metadata)]


class HeifHandler:
    name: ClassVar[str] = "heif"
    extension: ClassVar[str] = ".jpg"  # the default output (heif_output: jpeg)
    extensions: ClassVar[tuple[str, ...]] = (".heic", ".heif", ".hif", ".avif")

    def sniff(self, head: bytes) -> bool:
        return is_heif(head)

    def inspect(self, source: BinaryIO) -> Inventory:
        data = read_whole(source, MAX_HEIF_BYTES, "HEIF")
        found, avif = _open(data)
        metadata, _decode = open_primary(data, avif)
        findings = _findings(found, metadata)
        if metadata.icc:
            findings.append(Finding("color_profile", "ICC profile", None, len(metadata.icc)))
            findings.extend(identity_findings(metadata.icc))
        width, height = metadata.size
        return Inventory(format=self.name, findings=tuple(findings), width=width, height=height)

    def sanitize(self, source: BinaryIO, output: BinaryIO, profile: Profile) -> Sanitized:
        data = read_whole(source, MAX_HEIF_BYTES, "HEIF")
        found, avif = _open(data)
        metadata, decode = open_primary(data, avif)
        log = RemovalLog()
        for finding in _findings(found, metadata):
            log.remove(finding.category, finding.name)
        icc = _kept_icc(metadata.icc, profile, log)
        notes = list(_colour_notes(metadata))
        image = decode()
        quality = profile.jpeg_quality
        if profile.heif_output == "jpeg":
            output.write(encode_jpeg(image, quality, icc))
            notes.insert(0, f"re-encoded {metadata.codec} to JPEG (quality {quality}): not lossless")
            return Sanitized("jpeg", ".jpg", False, log.removed(), log.kept(), tuple(notes))
        output.write(encode_heif(image, quality, icc, avif=metadata.codec == "AVIF"))
        notes.insert(0, f"re-encoded {metadata.codec} (quality {quality}): not lossless")
        extension = ".avif" if metadata.codec == "AVIF" else ".heic"
        return Sanitized("heif", extension, False, log.removed(), log.kept(), tuple(notes))

    def verify(self, output: BinaryIO, source: BinaryIO, profile: Profile, result: Sanitized) -> None:
        original = read_whole(source, MAX_HEIF_BYTES, "HEIF")
        _found, avif = _open(original)
        metadata, _decode = open_primary(original, avif)
        written = read_whole(output, MAX_HEIF_BYTES, "HEIF")
        icc_allowed = profile.keeps("color_profile")
        if result.format == "jpeg":
            check_jpeg(output, icc_allowed)
            check_decodes(written, metadata.size)
        elif result.format == "heif":
            check_heif(written, icc_allowed, metadata.size, avif=metadata.codec == "AVIF")
        else:
            raise VerifyFailed(f"unexpected output format {result.format!r} for a HEIF source")


def _kept_icc(icc: bytes | None, profile: Profile, log: RemovalLog) -> bytes | None:
    """The source's ICC profile reduced to its colour data, or None when there is none to keep."""
    if not icc:
        return None
    if not profile.keeps("color_profile"):
        log.remove("color_profile", "ICC profile")
        return None
    try:
        cleaned = clean_profile(icc)
    except CorruptMedia as error:
        log.remove("other", f"ICC profile ({len(icc):,} bytes, unreadable: {error})")
        return None
    cleaned.record(log)
    return cleaned.data


def _colour_notes(metadata: HeifMetadata) -> list[str]:
    if metadata.icc or not metadata.nclx:
        return []
    primaries = metadata.nclx.get("color_primaries", 2)
    if primaries in SRGB_LIKE_PRIMARIES:
        return []
    return [f"source colours are described by nclx primaries {primaries}, not converted: shown as sRGB"]


HANDLER = HeifHandler()
