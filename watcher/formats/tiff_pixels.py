"""Decoding with Pillow under the decompression-bomb guard, for comparing a source's pixels with an output's."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from watcher.errors import TooLarge
from watcher.formats.pillow import Image


@dataclass(frozen=True)
class Pixels:
    mode: str
    size: tuple[int, int]
    digest: str  # sha256 of the decoded pixel bytes


def decode_pixels(data: bytes) -> Pixels | None:
    """The first image's decoded pixels, or None when Pillow cannot decode the data.

    Raises TooLarge when the declared size exceeds ``Image.MAX_IMAGE_PIXELS``: it is checked before decoding.
    """
    with warnings.catch_warnings():
        # Pillow warns about odd metadata while opening; only the bomb warning matters, and it is fatal.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                check_pixel_count(image.size)
                image.load()
                return Pixels(image.mode, image.size, hashlib.sha256(image.tobytes()).hexdigest())
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise TooLarge(f"image exceeds the {Image.MAX_IMAGE_PIXELS:,}-pixel limit") from error
        except TooLarge:
            raise
        except Exception:
            # Pillow raises many kinds (OSError, ValueError, SyntaxError, struct.error...) on undecodable data.
            return None


def check_pixel_count(size: tuple[int, int]) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    width, height = size
    if limit is not None and width * height > limit:
        raise TooLarge(f"image of {width}x{height} pixels exceeds the {limit:,}-pixel limit")
