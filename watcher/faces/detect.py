"""CenterFace pre- and post-processing: resize, run, decode the heatmap into boxes, merge overlaps.

CenterFace predicts, on a grid four times coarser than its input, a face-centre heatmap, the face's size
(log scale) and the centre's sub-cell offset. A box is read at every cell whose heatmap passes the
threshold, then overlapping boxes are merged by non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from watcher.faces.model import Outputs, detector
from watcher.formats.pillow import Image

# Long side of the copy the detector sees. 1600 px keeps faces down to ~30 px in a 12 MP photo
# (4000 px wide) above the ~12 px the model resolves; a larger copy costs time quadratically.
DETAIL_LONG_SIDE = 1600
# A second, coarse look finds faces that fill the frame (close-ups, selfies), which the detailed copy
# shows larger than anything CenterFace was trained on.
OVERVIEW_LONG_SIDE = 480
# Recall over precision: a blurred patch of wall costs little, a missed face is the failure that matters.
SCORE_THRESHOLD = 0.4
OVERLAP_THRESHOLD = 0.3  # IoU above which two boxes are the same face
STRIDE = 4  # input pixels per heatmap cell
ALIGNMENT = 32  # the network's input sides must be multiples of this
# The detailed copy runs in horizontal strips: each owns about STRIP_ROWS rows (the faces centred there)
# and sees STRIP_OVERLAP more on each side, so a face up to twice that high lies whole in its owner's
# strip. Larger faces are the overview pass's; their parts cut by a strip edge merge into its box.
STRIP_ROWS = 1056  # a 4:3 landscape copy (1600 x 1200) runs whole; squarer ones in strips
STRIP_OVERLAP = 96
CONTAINED = 0.6  # a box lying this much inside a better one is a part of the same face


@dataclass(frozen=True)
class Box:
    """A face box in the pixel coordinates of the (upright) image it was found in."""

    left: float
    top: float
    right: float
    bottom: float
    score: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def detect_faces(
    image: Image.Image, *, threads: int | None = None, threshold: float = SCORE_THRESHOLD
) -> list[Box]:
    """Faces in ``image`` (already upright), best score first. Raises FaceModelError if the model cannot run."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    found: list[npt.NDArray[np.float32]] = []
    for long_side in _scales(rgb.size):
        found.append(_detect_at(rgb, long_side, threads, threshold))
    boxes = np.concatenate(found) if found else np.empty((0, 5), np.float32)
    boxes = _clip(boxes, rgb.size)
    return [Box(*(float(value) for value in row)) for row in _suppress(boxes, OVERLAP_THRESHOLD)]


def _scales(size: tuple[int, int]) -> list[int]:
    longest = max(size)
    scales = [min(longest, DETAIL_LONG_SIDE)]
    if longest > 2 * OVERVIEW_LONG_SIDE:
        scales.append(OVERVIEW_LONG_SIDE)
    return scales


def _detect_at(
    rgb: Image.Image, long_side: int, threads: int | None, threshold: float
) -> npt.NDArray[np.float32]:
    width, height = rgb.size
    factor = long_side / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    # reducing_gap 1.0: a fast box reduction by the whole factor first; the detector needs no finer filter.
    resized = rgb if size == rgb.size else rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=1.0)
    pixels = np.asarray(resized, dtype=np.uint8).transpose(2, 0, 1)
    windows = _strips(size[1])
    padded_height = max(bottom - top for top, bottom, _, _ in windows)
    found = []
    for top, bottom, owned_top, owned_bottom in windows:
        boxes = _decode(detector(threads).run(_batch(pixels[:, top:bottom], padded_height)), threshold)
        boxes[:, 1:4:2] += top
        centre = (boxes[:, 1] + boxes[:, 3]) / 2
        found.append(boxes[(centre >= owned_top) & (centre < owned_bottom)])
    boxes = np.concatenate(found)
    boxes[:, 0:4:2] *= width / size[0]
    boxes[:, 1:4:2] *= height / size[1]
    return boxes


def _strips(height: int) -> list[tuple[int, int, int, int]]:
    """Overlapping row windows (top, bottom, owned_top, owned_bottom), so the network never holds a whole
    1600 x 1600 copy at once: its activations would take about 500 MB, strips about half of that."""
    if height <= STRIP_ROWS + 2 * STRIP_OVERLAP:
        return [(0, height, 0, height)]
    count = -(-height // STRIP_ROWS)
    core = -(-height // count)
    windows = []
    for index in range(count):
        owned_top, owned_bottom = index * core, min(height, (index + 1) * core)
        top, bottom = max(0, owned_top - STRIP_OVERLAP), min(height, owned_bottom + STRIP_OVERLAP)
        windows.append((top, bottom, owned_top, owned_bottom))
    return windows


def _batch(pixels: npt.NDArray[np.uint8], height: int) -> npt.NDArray[np.float32]:
    """The network's input: 1 x 3 x H x W, raw 0-255 RGB, zero-padded to ``height`` rows and both sides
    to multiples of 32. Strips of one picture share one shape, so onnxruntime reuses its buffers."""
    _, rows, columns = pixels.shape
    padded_height = -(-height // ALIGNMENT) * ALIGNMENT
    padded_width = -(-columns // ALIGNMENT) * ALIGNMENT
    batch = np.zeros((1, 3, padded_height, padded_width), dtype=np.float32)
    batch[0, :, :rows, :columns] = pixels
    return batch


def _decode(outputs: Outputs, threshold: float) -> npt.NDArray[np.float32]:
    """Rows of (left, top, right, bottom, score) in the network input's pixels."""
    heatmap = outputs.heatmap[0]
    rows, columns = np.nonzero(heatmap > threshold)
    heights = np.exp(outputs.scale[0, rows, columns]) * STRIDE
    widths = np.exp(outputs.scale[1, rows, columns]) * STRIDE
    centre_y = (rows + outputs.offset[0, rows, columns] + 0.5) * STRIDE
    centre_x = (columns + outputs.offset[1, rows, columns] + 0.5) * STRIDE
    boxes = np.stack(
        [
            centre_x - widths / 2,
            centre_y - heights / 2,
            centre_x + widths / 2,
            centre_y + heights / 2,
            heatmap[rows, columns],
        ],
        axis=1,
    )
    return boxes.astype(np.float32, copy=False)


def _clip(boxes: npt.NDArray[np.float32], size: tuple[int, int]) -> npt.NDArray[np.float32]:
    width, height = size
    boxes[:, 0:4:2] = np.clip(boxes[:, 0:4:2], 0, width)
    boxes[:, 1:4:2] = np.clip(boxes[:, 1:4:2], 0, height)
    usable = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[usable]


def _suppress(boxes: npt.NDArray[np.float32], overlap: float) -> npt.NDArray[np.float32]:
    """Greedy non-maximum suppression, best score first, where each kept box grows to cover the boxes it
    suppresses: when the detector sees a face twice (whole, and a part of it), the anonymized area must
    cover both."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(-boxes[:, 4], kind="stable")
    kept: list[npt.NDArray[np.float32]] = []
    while order.size:
        best, rest = boxes[order[0]].copy(), order[1:]
        inter_w = np.clip(np.minimum(best[2], boxes[rest, 2]) - np.maximum(best[0], boxes[rest, 0]), 0, None)
        inter_h = np.clip(np.minimum(best[3], boxes[rest, 3]) - np.maximum(best[1], boxes[rest, 1]), 0, None)
        intersection = inter_w * inter_h
        union = areas[order[0]] + areas[rest] - intersection
        smaller = np.minimum(areas[order[0]], areas[rest])
        same = (intersection > overlap * union) | (intersection > CONTAINED * smaller)
        merged = boxes[rest[same]]
        if merged.size:
            best[0:2] = np.minimum(best[0:2], merged[:, 0:2].min(axis=0))
            best[2:4] = np.maximum(best[2:4], merged[:, 2:4].max(axis=0))
        kept.append(best)
        order = rest[~same]
    return np.asarray(kept, dtype=np.float32).reshape(-1, 5)
