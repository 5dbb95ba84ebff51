"""Checks that a published colour profile renders exactly like the source's, written from the ICC spec and
littleCMS (through Pillow's ImageCms), independently of watcher/formats/icc.py."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageCms

# Tags that define the colour transform: their data must be byte for byte the source's.
COLOUR_TAGS = {
    b"A2B0", b"A2B1", b"A2B2", b"B2A0", b"B2A1", b"B2A2", b"rXYZ", b"gXYZ", b"bXYZ", b"rTRC", b"gTRC",
    b"bTRC", b"kTRC", b"wtpt", b"bkpt", b"chad", b"gamt", b"clrt", b"clro",
}  # fmt: skip
# Header bytes a colour engine reads: CMM, version, class, colour spaces, signature, platform, flags,
# device attributes, rendering intent, illuminant.
HEADER_COLOUR_FIELDS = (slice(4, 24), slice(36, 48), slice(56, 80))
MODES = {b"RGB ": "RGB", b"GRAY": "L", b"CMYK": "CMYK"}


def srgb_profile() -> bytes:
    """A real RGB profile as littleCMS writes it: dated, with a 'chrm' tag."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # type: ignore[no-any-return]


def tags(profile: bytes) -> dict[bytes, bytes]:
    (count,) = struct.unpack_from(">I", profile, 128)
    found = {}
    for index in range(count):
        signature, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * index)
        found.setdefault(signature, profile[offset : offset + size])
    return found


def _rendered(profile: bytes, mode: str) -> bytes:
    """A fixed test pattern through ``profile`` to sRGB, every rendering intent's output concatenated."""
    pattern = Image.frombytes(mode, (256, 64), bytes(range(256)) * 64 * len(Image.new(mode, (1, 1)).getbands()))
    srgb = ImageCms.createProfile("sRGB")
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    out = b""
    for intent in (ImageCms.Intent.PERCEPTUAL, ImageCms.Intent.RELATIVE_COLORIMETRIC):
        transform = ImageCms.buildTransform(source, srgb, mode, "RGB", renderingIntent=intent)
        out += ImageCms.applyTransform(pattern, transform).tobytes()  # type: ignore[union-attr]
    return out


def assert_same_colours(before: bytes | None, after: bytes | None) -> None:
    """``after`` (the published profile) renders like ``before``: same colour tags and header fields, and
    littleCMS turns a test pattern into the very same sRGB bytes through either."""
    if before is None or after is None:
        assert before == after
        return
    assert after[24:36] == bytes(12), "the profile's creation date survived"
    for field in HEADER_COLOUR_FIELDS:
        assert after[field] == before[field]
    old, new = tags(before), tags(after)
    for signature in COLOUR_TAGS & old.keys():
        assert new.get(signature) == old[signature], signature
    mode = MODES.get(before[16:20])
    if mode is not None:
        assert _rendered(after, mode) == _rendered(before, mode)
