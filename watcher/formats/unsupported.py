"""Names the content of files no handler claims, so a refusal says what the file is.

The pipeline calls ``describe`` on the first bytes of a file that no handler sniffed; the description goes into
the refusal reason. Detection is by content only: an extension can lie.
"""

from __future__ import annotations

import struct

NOT_PUBLISHED = "not published by default"

# ISO-BMFF ftyp brands of formats we do not publish, checked against the major and compatible brands.
_BMFF_BRANDS: dict[bytes, str] = {
    b"crx ": "RAW camera file (Canon CR3)",
    b"mif3": "HEIF/AVIF image in the low-overhead 'mif3' form",
    b"jxl ": "JPEG XL image",
    b"jp2 ": "JPEG 2000 image",
    b"jpx ": "JPEG 2000 image",
    b"jpm ": "JPEG 2000 compound image",
    b"mjp2": "Motion JPEG 2000 video",
    b"qt  ": "QuickTime video",
    b"isom": "MP4 video",
    b"iso2": "MP4 video",
    b"mp41": "MP4 video",
    b"mp42": "MP4 video",
    b"avc1": "MP4 video",
    b"3gp4": "3GPP video",
    b"3gp5": "3GPP video",
    b"3gp6": "3GPP video",
    b"3g2a": "3GPP2 video",
    b"M4V ": "MP4 video",
    b"M4A ": "MP4 audio",
}

# Prefix -> description, tried in order; the first match wins.
_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"FUJIFILMCCD-RAW", "RAW camera file (Fujifilm RAF)"),
    (b"FUJIFILM", "RAW camera file (Fujifilm RAF)"),
    (b"FOVb", "RAW camera file (Sigma X3F)"),
    (b"8BPS", "Photoshop document (PSD)"),
    (b"%PDF", "PDF document"),
    (b"%!PS-Adobe", "PostScript/EPS document"),
    (b"\xc5\xd0\xd3\xc6", "PostScript/EPS document (DOS EPS)"),
    (b"PK\x03\x04", "ZIP archive or office document"),
    (b"PK\x05\x06", "ZIP archive (empty)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy office document (OLE2)"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL image"),
    (b"\xff\x0a", "JPEG XL image (codestream)"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
    (b"\xff\x01Exiv2", "Exiv2 metadata sidecar (EXV)"),
    (b"BM", "BMP image"),
    (b"0&\xb2u\x8ef\xcf\x11", "Windows Media video (WMV/ASF)"),
    (b"\x1a\x45\xdf\xa3", "Matroska/WebM video"),
    (b"FLV", "Flash video (FLV)"),
    (b"OggS", "Ogg media"),
    (b"ID3", "MP3 audio"),
    (b"fLaC", "FLAC audio"),
    (b"II\x1a\x00\x00\x00HEAPCCDR", "RAW camera file (Canon CRW)"),
    (b"IIU\x00", "RAW camera file (Panasonic RW2)"),
    (b"IIRO", "RAW camera file (Olympus ORF)"),
    (b"IIRS", "RAW camera file (Olympus ORF)"),
    (b"MMOR", "RAW camera file (Olympus ORF)"),
    (b"II+\x00", "BigTIFF image"),
    (b"MM\x00+", "BigTIFF image"),
    (b"\x00\x00\x01\xba", "MPEG program stream video"),
    (b"\x00\x00\x01\xb3", "MPEG video"),
    (b"8BIM", "Photoshop resource block"),
)

_RIFF_KINDS: dict[bytes, str] = {
    b"AVI ": "AVI video",
    b"WAVE": "WAV audio",
    b"WEBP": "WebP image",
}


def describe(head: bytes, size: int) -> str:
    """A short human description of a file from its first bytes (64 or more help) and its size."""
    if size == 0:
        return "empty file (0 bytes)"
    for describer in (_describe_bmff, _describe_riff, _describe_text, _describe_transport_stream):
        found = describer(head)
        if found is not None:
            return found
    for prefix, description in _PREFIXES:
        if head.startswith(prefix):
            return description
    if head.startswith((b"II*\x00", b"MM\x00*")):
        if head[8:10] == b"CR":
            return "RAW camera file (Canon CR2)"
        return "TIFF image"
    return f"unknown content (starts 0x{head[:4].hex() or 'empty'})"


def refusal(head: bytes, size: int) -> str:
    """The reason given when a file of this content is refused."""
    return f"{describe(head, size)}: {NOT_PUBLISHED}"


def _describe_bmff(head: bytes) -> str | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = struct.unpack(">I", head[:4])[0]
    end = min(len(head), max(box_size, 16))
    brands = [head[8:12]] + [head[i : i + 4] for i in range(16, end - 3, 4)]
    for brand in brands:
        if brand in _BMFF_BRANDS:
            return _BMFF_BRANDS[brand]
    return f"ISO media file (brand {brands[0].decode('latin-1')!r})"


def _describe_riff(head: bytes) -> str | None:
    if not head.startswith(b"RIFF") or len(head) < 12:
        return None
    return _RIFF_KINDS.get(head[8:12], "RIFF container")


def _describe_text(head: bytes) -> str | None:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"<?xpacket", b"<x:xmpmeta", b"<x:xapmeta")):
        return "XMP sidecar"
    if stripped.startswith(b"<?xml") or stripped.startswith(b"<!DOCTYPE plist"):
        if b"plist" in stripped or b"adjustment" in stripped:
            return "Apple edit sidecar (AAE property list)"
        if b"xmpmeta" in stripped or b"xpacket" in stripped:
            return "XMP sidecar"
        return "XML document"
    if stripped.startswith(b"bplist00"):
        return "Apple binary property list"
    return None


def _describe_transport_stream(head: bytes) -> str | None:
    # MPEG-TS packets are 188 bytes starting 0x47; M2TS (AVCHD) prefixes each with a 4-byte timestamp.
    if len(head) >= 5 and head[4] == 0x47 and (len(head) < 196 or head[196] == 0x47):
        return "AVCHD/M2TS video"
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG transport stream video"
    return None
