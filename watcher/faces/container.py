"""Structure checks on the files this stage writes: only image data and, when kept, a colour profile.

Independent of the format handlers: the walk accepts a short allow-list of segments or chunks for each of
the three formats the stage writes and refuses everything else, including bytes after the end of the image.
"""

from __future__ import annotations

import struct

from watcher.errors import VerifyFailed

# JPEG markers allowed before the scan: SOF0-SOF15 (less DHT, JPG and DAC), DHT, DQT, DRI, APP0 (JFIF),
# APP2 (ICC, checked below), APP14 (Adobe colour transform, needed to decode CMYK).
_SOF = {0xC0 + n for n in range(16)} - {0xC4, 0xC8, 0xCC}
_JPEG_TABLES = _SOF | {0xC4, 0xDB, 0xDD}
_PNG_IMAGE = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"})
_WEBP_IMAGE = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH"})


def check_structure(data: bytes, format_name: str, *, icc_allowed: bool) -> None:
    """Raise VerifyFailed unless ``data`` holds nothing beyond image data (and an allowed ICC profile)."""
    try:
        if format_name == "jpeg":
            _check_jpeg(data, icc_allowed)
        elif format_name == "png":
            _check_png(data, icc_allowed)
        elif format_name == "webp":
            _check_webp(data, icc_allowed)
        else:
            raise VerifyFailed(f"unexpected output format {format_name!r}")
    except (struct.error, IndexError) as err:
        raise VerifyFailed(f"the {format_name} output is truncated or malformed") from err


def _check_jpeg(data: bytes, icc_allowed: bool) -> None:
    if not data.startswith(b"\xff\xd8"):
        raise VerifyFailed("the output does not start like a JPEG file")
    position = 2
    while True:
        if data[position] != 0xFF:
            raise VerifyFailed(f"JPEG marker expected at byte {position}")
        marker = data[position + 1]
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        body = data[position + 4 : position + 2 + length]
        if marker == 0xDA:
            break
        if not _jpeg_segment_allowed(marker, body, icc_allowed):
            raise VerifyFailed(f"the output carries a JPEG segment 0x{marker:02X} that is not image data")
        position += 2 + length
    # Entropy-coded data escapes 0xFF, so the first EOI after the scan starts must be the file's end.
    end = data.find(b"\xff\xd9", position)
    if end != len(data) - 2:
        raise VerifyFailed("the JPEG output has no end marker or has data after it")


def _jpeg_segment_allowed(marker: int, body: bytes, icc_allowed: bool) -> bool:
    if marker in _JPEG_TABLES:
        return True
    if marker == 0xE0:
        return body.startswith(b"JFIF\x00")
    if marker == 0xE2:
        return icc_allowed and body.startswith(b"ICC_PROFILE\x00")
    return marker == 0xEE and body.startswith(b"Adobe")


def _check_png(data: bytes, icc_allowed: bool) -> None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise VerifyFailed("the output does not start like a PNG file")
    allowed = _PNG_IMAGE | ({b"iCCP"} if icc_allowed else set())
    position = 8
    while True:
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind not in allowed:
            raise VerifyFailed(f"the output carries a PNG chunk {kind!r} that is not image data")
        position += 12 + length
        if position > len(data):
            raise VerifyFailed("the PNG output is truncated")
        if kind == b"IEND":
            break
    if position != len(data):
        raise VerifyFailed("the PNG output has data after its end")


def _check_webp(data: bytes, icc_allowed: bool) -> None:
    riff, size, webp = struct.unpack("<4sI4s", data[:12])
    if riff != b"RIFF" or webp != b"WEBP" or size + 8 != len(data):
        raise VerifyFailed("the output is not one complete WebP file")
    allowed = _WEBP_IMAGE | ({b"ICCP"} if icc_allowed else set())
    position = 12
    while position < len(data):
        kind, length = struct.unpack("<4sI", data[position : position + 8])
        if kind not in allowed:
            raise VerifyFailed(f"the output carries a WebP chunk {kind!r} that is not image data")
        position += 8 + length + (length & 1)
    if position != len(data):
        raise VerifyFailed("the WebP output is truncated")
