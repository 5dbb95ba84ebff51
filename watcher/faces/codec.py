"""Decoding a still to upright 8-bit pixels, and encoding the anonymized pixels with nothing carried over.

The encoder is handed a new image with an empty ``info``: Pillow copies comments, EXIF and colour profiles
from ``info`` by default, and each of those may hold the face (EXIF thumbnails) or identify the camera.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pillow_heif
from PIL import ImageOps

from watcher.errors import CorruptMedia, TooLarge, UnsupportedFormat
from watcher.formats.pillow import MAX_PIXELS, Image

pillow_heif.register_heif_opener()

# Errors Pillow's decoders raise on malformed input, beside OSError.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, KeyError, TypeError)
_ORIENTATION = 0x0112
_ANIMATED_FORMATS = frozenset({"GIF", "PNG", "WEBP"})
_GREY_MODES = frozenset({"1", "L", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


@dataclass(frozen=True)
class Decoded:
    """Upright pixels ready for detection and anonymization, and what the encoder needs to know."""

    image: Image.Image  # mode L, RGB, RGBA or CMYK
    source_format: str  # Pillow's name: JPEG, MPO, PNG, HEIF...
    icc_profile: bytes | None  # None when absent or no longer valid for the pixels' colour space
    rotated: bool  # the EXIF orientation was applied to the pixels


@dataclass(frozen=True)
class Encoding:
    format: str  # "jpeg", "png", "webp"
    extension: str


def decode(source: BinaryIO) -> Decoded:
    """Decode the primary image of ``source``. Raises CorruptMedia, TooLarge or UnsupportedFormat."""
    source.seek(0)
    try:
        # Pillow warns about the oddities of real files (EXIF tags past the end...); they do not change the
        # pixels, so they are silenced, except the decompression-bomb warning, which refuses the file.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image, source_format, orientation = _open_upright(source)
            pixels = _eight_bit(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise TooLarge(f"the picture is too large to decode safely ({err})") from err
    except _DECODE_ERRORS as err:
        raise CorruptMedia(
            f"the picture cannot be decoded for face anonymization ({type(err).__name__})"
        ) from err
    icc = image.info.get("icc_profile") or None
    if _colour_space(pixels.mode) != _colour_space(image.mode):
        icc = None  # a profile for another colour space would be misapplied
    return Decoded(
        image=pixels, source_format=source_format, icc_profile=icc, rotated=orientation in range(2, 9)
    )


def _open_upright(source: BinaryIO) -> tuple[Image.Image, str, object]:
    image = Image.open(source)
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise TooLarge(f"the picture has {width * height:,} pixels, above the {MAX_PIXELS:,} limit")
    source_format = image.format or "unknown"
    if source_format in _ANIMATED_FORMATS and getattr(image, "n_frames", 1) > 1:
        raise UnsupportedFormat("animated pictures cannot be face-anonymized frame by frame; not published")
    image.load()
    orientation = image.getexif().get(_ORIENTATION, 1)
    # In place: a second full-size copy of a 12 MP photo would cost another 36 MB.
    ImageOps.exif_transpose(image, in_place=True)
    return image, source_format, orientation


def _colour_space(mode: str) -> str:
    if mode in _GREY_MODES or mode in ("LA", "La"):
        return "grey"
    return "cmyk" if mode == "CMYK" else "rgb"


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in image.info


def _eight_bit(image: Image.Image) -> Image.Image:
    """``image`` as L, RGB, RGBA or CMYK: the modes every later step (filters, encoders) supports."""
    if image.mode in ("L", "RGB", "RGBA", "CMYK"):
        return image
    if _has_alpha(image):
        return image.convert("RGBA")
    if image.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        # Pillow's convert() clips deep values to 255; scale them down instead.
        values = np.asarray(image, dtype=np.float32)
        top = 65535.0 if values.max(initial=0) > 255 else 255.0
        grey = np.clip(values * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.frombytes("L", image.size, grey.tobytes())
    return image.convert("L" if image.mode == "1" else "RGB")


def choose_encoding(source_format: str, image: Image.Image) -> Encoding:
    """JPEG for photos, PNG for PNG/GIF sources and anything with alpha, WebP for WebP."""
    if source_format == "WEBP":
        return Encoding("webp", ".webp")
    if source_format in ("PNG", "GIF") or image.mode == "RGBA":
        return Encoding("png", ".png")
    return Encoding("jpeg", ".jpg")


def encode(decoded: Decoded, encoding: Encoding, output: BinaryIO, *, quality: int, keep_icc: bool) -> None:
    """Write ``decoded.image`` to ``output`` with only the colour profile (when kept) as metadata."""
    image = decoded.image
    image.info = {}  # the pixels are this stage's own copy; nothing in ``info`` may reach the file
    options: dict[str, object] = {}
    if keep_icc and decoded.icc_profile:
        options["icc_profile"] = decoded.icc_profile
    if encoding.format == "jpeg":
        options.update(quality=quality, optimize=False, progressive=False)
    elif encoding.format == "webp":
        options.update(quality=quality, method=4)
    else:
        options.update(compress_level=6)
    buffer = io.BytesIO()
    try:
        image.save(buffer, format=encoding.format.upper(), **options)
    except (OSError, ValueError) as err:
        raise CorruptMedia(f"the anonymized picture cannot be encoded as {encoding.format} ({err})") from err
    output.write(buffer.getbuffer())
