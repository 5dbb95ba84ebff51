"""Encoding a decoded HEIF/AVIF picture for sharing (JPEG by default, or HEIC/AVIF again), and re-reading the
result: only the pixels and, when kept, the ICC profile may survive."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from watcher.errors import CorruptMedia, VerifyFailed
from watcher.formats.heif_boxes import layout
from watcher.formats.heif_decode import open_primary
from watcher.formats.icc import is_clean
from watcher.formats.jpeg_header import IccChunks, segment_kind
from watcher.formats.jpeg_segments import CODING_MARKERS, EOI, SOI, STANDALONE, SegmentReader
from watcher.formats.pillow import Image
from watcher.formats.tiff_pixels import decode_pixels

# Colour primaries (ISO/IEC 23091-2) close enough to sRGB that a JPEG without a profile shows them right.
SRGB_LIKE_PRIMARIES = frozenset({1, 2, 5, 6})


def displayable(image: Image.Image) -> Image.Image:
    """``image`` in a mode JPEG holds: transparency is flattened onto white, deep samples reduced to 8 bits."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("RGBA", "LA", "PA", "P", "RGBa"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def encode_jpeg(image: Image.Image, quality: int, icc: bytes | None) -> bytes:
    picture = displayable(image)
    picture.info = {}  # Pillow would copy a comment (and, in some versions, EXIF) from info
    options: dict[str, Any] = {"quality": quality, "subsampling": 0, "optimize": True}
    if icc:
        options["icc_profile"] = icc
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", **options)
    return buffer.getvalue()


def encode_heif(image: Image.Image, quality: int, icc: bytes | None, avif: bool) -> bytes:
    picture = image if image.mode in ("RGB", "RGBA", "L") else image.convert("RGB")
    picture.info = {}
    buffer = io.BytesIO()
    if avif:
        options: dict[str, Any] = {"quality": quality}
        if icc:
            options["icc_profile"] = icc
        picture.save(buffer, format="AVIF", **options)
    else:
        import pillow_heif  # imported on use: it costs ~50 ms at start-up, HEIF files are few

        heif_file = pillow_heif.from_pillow(picture)
        heif_file.info.clear()
        if icc:
            heif_file.info["icc_profile"] = icc
        heif_file.save(buffer, quality=quality, exif=None, xmp=None)
    return buffer.getvalue()


def check_jpeg(output: BinaryIO, icc_allowed: bool) -> None:
    """Raise VerifyFailed unless ``output`` is one complete JPEG holding only JFIF, ICC and Adobe segments."""
    output.seek(0)
    reader = SegmentReader(output)
    icc = IccChunks()
    try:
        for item in reader.segments():
            if isinstance(item, bytes) or item.marker in CODING_MARKERS or item.marker in STANDALONE:
                continue
            if item.marker in (SOI, EOI):
                continue
            kind = segment_kind(item) if item.marker >= 0xE0 else "other"
            if kind == "icc" and icc_allowed:
                icc.add(item.payload)
            elif kind not in ("jfif", "adobe"):
                raise VerifyFailed(f"the JPEG output still carries a {item.name} segment ({kind})")
        if any(reader.rest()):
            raise VerifyFailed("the JPEG output has bytes after its EOI marker")
        if icc.chunks:
            _check_icc(icc.profile())
    except CorruptMedia as error:
        raise VerifyFailed(f"the JPEG output does not parse: {error}") from None


def check_heif(data: bytes, icc_allowed: bool, size: tuple[int, int], avif: bool) -> None:
    """Raise VerifyFailed unless a re-encoded HEIF/AVIF holds one upright image and no metadata."""
    try:
        found = layout(data)
        metadata, decode = open_primary(data, avif_first=avif)
        decode()
    except CorruptMedia as error:
        raise VerifyFailed(f"the HEIF output does not re-read: {error}") from None
    extra = sorted({box.kind for box in found.boxes} - {"ftyp", "meta", "mdat", "free"})
    if extra or found.tail:
        raise VerifyFailed(f"the HEIF output carries extra boxes {extra} or trailing bytes")
    metadata_items = [i.kind for i in found.items if i.kind in ("Exif", "mime", "uri ", "jumb")]
    references = [r[0] for r in found.references if r[0] in ("thmb", "cdsc", "auxl")]
    if metadata_items or references or metadata.exif or metadata.xmp or metadata.image_count != 1:
        raise VerifyFailed(f"the HEIF output still carries metadata {metadata_items + references}")
    if metadata.icc and not icc_allowed:
        raise VerifyFailed("the HEIF output carries an ICC profile the profile removes")
    if metadata.icc:
        _check_icc(metadata.icc)
    if metadata.size != size:
        raise VerifyFailed(f"the output is {metadata.size}, the source's primary image is {size}")


def check_decodes(data: bytes, size: tuple[int, int]) -> None:
    pixels = decode_pixels(data)
    if pixels is None:
        raise VerifyFailed("the output does not decode")
    if pixels.size != size:
        raise VerifyFailed(f"the output is {pixels.size}, the source's primary image is {size}")


def _check_icc(profile: bytes | None) -> None:
    if profile is None or not is_clean(profile):
        raise VerifyFailed("the output's ICC profile carries more than its colour data")
