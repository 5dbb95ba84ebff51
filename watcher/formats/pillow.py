"""Pillow's Image module, with the resource limits every decode must have: import it from here.

The decompression-bomb guard is always on, and an error (Pillow only warns between 1x and 2x its limit).
Importing Pillow here rather than at start-up keeps it out of the runs that never decode pixels (a JPEG
is rebuilt losslessly without it); importing it from anywhere else could decode without the limit, which
ruff's banned-api rule refuses.
"""

from __future__ import annotations

import warnings

from PIL import Image  # noqa: TID251 - the one place Pillow's Image is imported

# About 180 megapixels: above any phone or consumer camera sensor, far below what exhausts memory.
MAX_PIXELS = 180_000_000

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.simplefilter("error", Image.DecompressionBombWarning)

__all__ = ["MAX_PIXELS", "Image"]
