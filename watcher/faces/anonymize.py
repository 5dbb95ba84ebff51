"""Make detected faces unrecognizable: blur, mosaic or a solid fill, through an elliptical mask.

Strength follows the face's size, so a face is equally destroyed at 30 px or 3000 px: the padded face is
squeezed through a bottleneck of about five blocks across (little enough that no identity survives), random
noise is added there (so the blocks' exact values, which a deblurring attack would invert, are not the
face's), then it is enlarged back. ``blur`` smooths the enlargement, ``mosaic`` keeps the blocks visible.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from PIL import ImageDraw, ImageFilter

from watcher.faces.detect import Box
from watcher.formats.pillow import Image

Method = Literal["blur", "mosaic", "fill"]

# Padding around the detector's box, as fractions of its size: the box stops at the brow and the chin,
# and hair, ears and jaw line identify a person too.
PAD_SIDES = 0.25
PAD_ABOVE = 0.45
PAD_BELOW = 0.25
BLOCKS_ACROSS = 5
NOISE_SIGMA = 25.0  # in 0-255 units, added at the bottleneck
SMOOTHING_SCALE = 8  # pixels per block where the blur is computed
FILL_LEVEL = 0  # black in every band (alpha untouched)


@dataclass(frozen=True)
class Region:
    """A padded face area in whole pixels, clipped to the image, and its ellipse.

    The ellipse is drawn in the unclipped padded box, so a face cut by the picture's edge is still
    covered up to that edge rather than by a smaller ellipse squeezed into what remains.
    """

    left: int
    top: int
    right: int
    bottom: int
    ellipse: tuple[float, float, float, float]  # relative to (left, top)

    @property
    def size(self) -> tuple[int, int]:
        return (self.right - self.left, self.bottom - self.top)


def padded_region(box: Box, image_size: tuple[int, int]) -> Region:
    """``box`` grown by the padding fractions, rounded outwards and clipped to the image."""
    width, height = image_size
    outer_left = math.floor(box.left - PAD_SIDES * box.width)
    outer_top = math.floor(box.top - PAD_ABOVE * box.height)
    outer_right = math.ceil(box.right + PAD_SIDES * box.width)
    outer_bottom = math.ceil(box.bottom + PAD_BELOW * box.height)
    left, top = max(0, outer_left), max(0, outer_top)
    return Region(
        left=left,
        top=top,
        right=max(left, min(width, outer_right)),
        bottom=max(top, min(height, outer_bottom)),
        ellipse=(outer_left - left, outer_top - top, outer_right - left - 1, outer_bottom - top - 1),
    )


def anonymize_faces(
    image: Image.Image, boxes: Iterable[Box], method: Method, *, seed: int | None = None
) -> int:
    """Anonymize every box in ``image`` in place; returns how many regions were treated.

    ``image`` must be an 8-bit mode (L, RGB, RGBA, CMYK...); an alpha band is left as it is.
    """
    random = np.random.default_rng(seed)
    count = 0
    for box in boxes:
        region = padded_region(box, image.size)
        if region.size[0] < 1 or region.size[1] < 1:
            continue
        _treat(image, region, method, random)
        count += 1
    return count


def _treat(image: Image.Image, region: Region, method: Method, random: np.random.Generator) -> None:
    bounds = (region.left, region.top, region.right, region.bottom)
    patch = image.crop(bounds)
    colour_bands = _colour_mode(patch.mode)
    colour = patch if colour_bands == patch.mode else patch.convert(colour_bands)
    if method == "fill":
        replaced = Image.new(colour.mode, colour.size, (FILL_LEVEL,) * len(colour.getbands()))
    else:
        replaced = _bottleneck(colour, method, random)
    if colour is not patch:
        # Put the untouched alpha back: only the visible colour of a face is anonymized.
        replaced = Image.merge(patch.mode, (*replaced.split(), patch.getchannel(patch.getbands()[-1])))
    image.paste(replaced, bounds, _ellipse(region))


def _colour_mode(mode: str) -> str:
    return {"RGBA": "RGB", "LA": "L"}.get(mode, mode)


def _bottleneck(patch: Image.Image, method: Method, random: np.random.Generator) -> Image.Image:
    width, height = patch.size
    across = min(BLOCKS_ACROSS, width)
    down = max(1, min(height, round(across * height / width)))
    small = patch.resize((across, down), Image.Resampling.BOX)
    values = np.asarray(small, dtype=np.float32)
    noisy = np.clip(values + random.normal(0.0, NOISE_SIGMA, values.shape), 0, 255).astype(np.uint8)
    small = Image.frombytes(small.mode, small.size, noisy.tobytes())
    if method == "mosaic":
        return small.resize(patch.size, Image.Resampling.NEAREST)
    # Smooth over a whole block's width: a lighter blur leaves an eyes-and-mouth pattern the detector
    # (and a person) still reads as a face. The smoothing runs at SMOOTHING_SCALE pixels per block, not
    # at the face's full size: the content is five blocks across either way, and a 1000 px face would
    # cost thirty times more to blur.
    smooth_size = (across * SMOOTHING_SCALE, down * SMOOTHING_SCALE)
    smooth = small.resize(smooth_size, Image.Resampling.BICUBIC)
    smooth = smooth.filter(ImageFilter.GaussianBlur(radius=SMOOTHING_SCALE))
    return smooth.resize(patch.size, Image.Resampling.BICUBIC)


def _ellipse(region: Region) -> Image.Image:
    mask = Image.new("L", region.size, 0)
    ImageDraw.Draw(mask).ellipse(region.ellipse, fill=255)
    return mask
