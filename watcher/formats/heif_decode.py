"""Opening HEIF (libheif via pillow-heif) and AVIF (Pillow's own libavif plugin) and decoding the primary image
upright, under the pixel-count guard.

pillow-heif has no AV1 decoder here and Pillow reads AVIF natively, so each codec goes to the library that can
decode it; a file whose brands mislead is tried with the other library before it is refused.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PIL import ImageOps

from watcher.errors import CorruptMedia, TooLarge
from watcher.formats.pillow import Image
from watcher.formats.tiff_pixels import check_pixel_count


@dataclass(frozen=True)
class HeifMetadata:
    codec: str  # "HEIC" (libheif) or "AVIF" (libavif)
    size: tuple[int, int]  # of the primary image as displayed (transforms applied)
    icc: bytes | None
    nclx: dict[str, Any] | None  # colour description given as code points instead of an ICC profile
    exif: bytes | None  # TIFF structure, without the "Exif\0\0" prefix
    xmp: bytes | None
    image_count: int  # top-level images, the primary included


def _strip_exif_prefix(exif: bytes | None) -> bytes | None:
    if not exif:
        return None
    return exif[6:] if exif.startswith(b"Exif\0\0") else exif


def _open_heic(data: bytes) -> tuple[HeifMetadata, Callable[[], Image.Image]]:
    import pillow_heif  # imported on use: it costs ~50 ms at start-up, HEIF files are few

    heif_file = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
    primary = heif_file[heif_file.primary_index]
    info: dict[str, Any] = dict(primary.info)
    width, height = primary.size
    metadata = HeifMetadata(
        codec="HEIC",
        size=(width, height),
        icc=info.get("icc_profile") or None,
        nclx=info.get("nclx_profile"),
        exif=_strip_exif_prefix(info.get("exif")),
        xmp=info.get("xmp") or None,
        image_count=len(heif_file),
    )
    return metadata, primary.to_pillow  # libheif applies irot/imir/clap while decoding


def _open_avif(data: bytes) -> tuple[HeifMetadata, Callable[[], Image.Image]]:
    image = Image.open(io.BytesIO(data), formats=["AVIF"])
    # Pillow reports irot/imir as an EXIF orientation instead of applying them.
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    size = (height, width) if orientation in (5, 6, 7, 8) else (width, height)
    metadata = HeifMetadata(
        codec="AVIF",
        size=size,
        icc=image.info.get("icc_profile") or None,
        nclx=None,
        exif=_strip_exif_prefix(image.info.get("exif")),
        xmp=image.info.get("xmp") or None,
        image_count=1,
    )

    def decode() -> Image.Image:
        image.load()
        return ImageOps.exif_transpose(image)

    return metadata, decode


def _openers(
    avif_first: bool,
) -> tuple[Callable[[bytes], tuple[HeifMetadata, Callable[[], Image.Image]]], ...]:
    return (_open_avif, _open_heic) if avif_first else (_open_heic, _open_avif)


def open_primary(data: bytes, avif_first: bool) -> tuple[HeifMetadata, Callable[[], Image.Image]]:
    """The primary image's metadata and a function that decodes it upright. Raises CorruptMedia/TooLarge."""
    errors: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        for opener in _openers(avif_first):
            try:
                metadata, decode = opener(data)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
                raise TooLarge(f"image exceeds the {Image.MAX_IMAGE_PIXELS:,}-pixel limit") from error
            except Exception as error:  # each library raises its own kinds on hostile input
                errors.append(str(error).splitlines()[0] if str(error) else type(error).__name__)
                continue
            check_pixel_count(metadata.size)
            return metadata, _guarded(decode)
    raise CorruptMedia(f"HEIF/AVIF image cannot be decoded ({errors[0]})")


def _guarded(decode: Callable[[], Image.Image]) -> Callable[[], Image.Image]:
    def run() -> Image.Image:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return decode()
            except TooLarge:
                raise
            except Exception as error:
                raise CorruptMedia(f"HEIF/AVIF image data cannot be decoded ({error})") from None

    return run
