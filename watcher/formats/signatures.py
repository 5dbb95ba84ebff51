"""What each format's first bytes look like: detection by content (magic bytes), never by file name.

Kept apart from the handlers so that telling formats apart loads none of them: a run over JPEGs never
imports the HEIF, TIFF or video code. Each handler's ``sniff`` is the function here.
"""

from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
# The RAW dialects with their own magic (RW2, ORF) and BigTIFF are claimed by the TIFF handler so they are
# refused with a specific reason.
TIFF_MAGICS = (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+", b"IIU\0", b"IIRO", b"IIRS", b"MMOR")

HEIF_IMAGE_BRANDS = frozenset(
    {
        b"heic",
        b"heix",
        b"heim",
        b"heis",
        b"hevc",
        b"hevx",
        b"mif1",
        b"msf1",
        b"avif",
        b"avis",
        b"mif2",
        b"MiHE",
    }
)
# Major brands that make a file a movie even when it lists an image brand among its compatible ones.
MOVIE_MAJOR_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"qt  ", b"3gp4", b"3gp5",
        b"3gp6", b"3g2a", b"M4V ", b"dash", b"MSNV", b"crx ",
    }
)  # fmt: skip
VIDEO_BRANDS = frozenset(
    {
        b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41", b"mp42",
        b"mp71", b"avc1", b"qt  ", b"M4V ", b"M4VH", b"M4VP", b"3gp4", b"3gp5", b"3gp6", b"3gp7", b"3gp8",
        b"3gp9", b"3gg6", b"3g2a", b"3g2b", b"3g2c", b"dash", b"MSNV", b"mp4v", b"XAVC", b"kddi", b"mmp4",
        b"f4v ", b"CAEP", b"NDAS", b"nvr1", b"FACE",
    }
)  # fmt: skip
NOT_VIDEO_BRANDS = frozenset({b"crx ", b"M4A ", b"M4B ", b"M4P ", b"jp2 ", b"jpx ", b"jxl ", b"mjp2"})
# Old QuickTime files start with an atom, not ftyp.
QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def is_jpeg(head: bytes) -> bool:
    return head.startswith(b"\xff\xd8\xff")


def is_png(head: bytes) -> bool:
    return head.startswith(PNG_SIGNATURE)


def is_webp(head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


def is_gif(head: bytes) -> bool:
    return head[:6] in GIF_SIGNATURES


def is_tiff(head: bytes) -> bool:
    return head[:4] in TIFF_MAGICS


def brands(head: bytes) -> tuple[bytes, frozenset[bytes]] | None:
    """The major brand and every brand of the ``ftyp`` box at the start of ``head``, or None."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = struct.unpack(">I", head[:4])[0]
    end = min(len(head), size) if size >= 16 else 16
    compatible = {head[i : i + 4] for i in range(16, end - 3, 4)}
    return head[8:12], frozenset(compatible | {head[8:12]})


def is_heif(head: bytes) -> bool:
    """A HEIF/AVIF still: an image major brand, or an image brand listed by a file that is no movie."""
    found = brands(head)
    if found is None:
        return False
    major, every = found
    return major in HEIF_IMAGE_BRANDS or (bool(every & HEIF_IMAGE_BRANDS) and major not in MOVIE_MAJOR_BRANDS)


def is_video(head: bytes) -> bool:
    if len(head) < 8:
        return False
    if head[4:8] != b"ftyp":
        return head[4:8] in QUICKTIME_ATOMS
    if len(head) < 12 or is_heif(head) or head[8:12] in NOT_VIDEO_BRANDS:
        return False
    found = brands(head)  # None below 16 bytes: then the major brand alone decides
    return bool((found[1] if found else {head[8:12]}) & VIDEO_BRANDS)
