"""Resource limits shared by every decode: Pillow's decompression-bomb guard, always on, as an error."""

from __future__ import annotations

import warnings

from PIL import Image

# About 180 megapixels: above any phone or consumer camera sensor, far below what exhausts memory.
MAX_PIXELS = 180_000_000


def install() -> None:
    """Make an over-limit image an error everywhere (Pillow only warns between 1x and 2x its limit)."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    warnings.simplefilter("error", Image.DecompressionBombWarning)
