"""The sharing-size stage: sanitize, then decode, apply orientation, shrink and re-encode (not lossless).

The handler's own sanitize runs first (into memory), so HEIC arrives here as the JPEG the profile asks
for and nothing but pixels and the colour profile reach the encoder. The new file carries no EXIF at all.
"""

from __future__ import annotations

import io
from typing import BinaryIO

from PIL import ImageOps, UnidentifiedImageError

from watcher.errors import CorruptMedia, TooLarge
from watcher.formats.base import Handler, Sanitized
from watcher.formats.pillow import Image
from watcher.rules.profile import Profile, Resize

# Output format (the sanitized file's) -> Pillow encoder name.
ENCODERS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


def resizable(result: Sanitized) -> bool:
    return result.format in ENCODERS


def _decode(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if getattr(image, "n_frames", 1) > 1:
            raise CorruptMedia("an animated picture cannot be resized frame by frame yet")
        image.load()
    except Image.DecompressionBombError as error:
        raise TooLarge(f"the picture is too large to resize safely ({error})") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise CorruptMedia(f"the picture cannot be decoded for resizing ({error})") from None
    return image


def _encode(image: Image.Image, encoder: str, quality: int, icc: bytes | None, output: BinaryIO) -> None:
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if encoder == "JPEG":
        image = image.convert("RGB") if image.mode not in ("RGB", "L", "CMYK") else image
        options.update(quality=quality, optimize=True)
    elif encoder == "WEBP":
        options.update(quality=quality)
    else:
        options.update(optimize=True)
    image.save(output, encoder, **options)


def resize_sanitized(
    handler: Handler, source: BinaryIO, output: BinaryIO, profile: Profile, rule: Resize
) -> Sanitized:
    """Sanitize ``source`` with ``handler`` into memory, then write it at most ``rule.max_side`` pixels on
    its longer side into ``output``. Formats without an encoder here are written as sanitized."""
    buffer = io.BytesIO()
    result = handler.sanitize(source, buffer, profile)
    if not resizable(result):
        output.write(buffer.getvalue())
        return result
    image = _decode(buffer.getvalue())
    icc = image.info.get("icc_profile") if profile.keeps("color_profile") else None
    image = ImageOps.exif_transpose(image)  # no-op unless the sanitized copy kept an Orientation
    width, height = image.size
    image.thumbnail((rule.max_side, rule.max_side), Image.Resampling.LANCZOS)
    _encode(image, ENCODERS[result.format], rule.quality, icc, output)
    note = f"re-encoded at {image.width}x{image.height} (from {width}x{height}, quality {rule.quality}): not lossless"
    kept = ("ICC profile",) if icc else ()
    notes = [*result.notes, note]
    dropped = [name for name in result.kept if "ICC" not in name]
    if dropped:  # a resized copy carries pixels and the colour profile only
        notes.append("not carried into the resized copy: " + ", ".join(dropped))
    return Sanitized(result.format, result.extension, False, result.removed, kept, tuple(notes))
