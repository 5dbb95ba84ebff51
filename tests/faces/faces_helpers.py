"""The labelled faces corpus (`../shared/corpus/faces`) and how detections are scored against it."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from tests.conftest import FACES
from watcher.formats.base import Sanitized

if TYPE_CHECKING:  # the module needs numpy, which only the faces extra installs
    from watcher.faces.detect import Box

TWELVE_MEGAPIXELS = 12_000_000

# Real faces that labels.json does not list, each checked by eye; a detection centred in one is neither a
# hit nor a false positive. (left, top, right, bottom) in the original photo's pixels.
UNLABELLED_FACES: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    # a row of life-size Elvis cut-outs along the top edge, faces 5-10 px wide
    "2008_004176.jpg": ((0, 0, 480, 30), (25, 275, 50, 305)),  # and Elvis on a poster, bottom left
    # bar patrons in the dim background: one in profile at the left, two behind the pillar at the right
    "2008_002079.jpg": ((270, 30, 300, 65), (410, 65, 495, 110)),
    # a partly hidden person in the dark background, right edge
    "2008_007676.jpg": ((445, 110, 480, 150),),
    # an out-of-focus onlooker with glasses behind one of the collage's portraits
    "bald_guys.jpg": ((240, 940, 310, 1030),),
}


@dataclass(frozen=True)
class Labelled:
    name: str
    count: int
    boxes: tuple[tuple[float, float, float, float], ...] | None  # None: only the count is known

    @property
    def path(self) -> Path:
        return FACES / self.name


@dataclass(frozen=True)
class Score:
    hits: int
    false_positives: int
    unlabelled: int  # detections of the known unlabelled faces


def load_labels() -> list[Labelled]:
    raw = json.loads((FACES / "labels.json").read_text(encoding="utf-8"))
    return [
        Labelled(name, entry["count"], None if entry["boxes"] is None else tuple(map(tuple, entry["boxes"])))
        for name, entry in sorted(raw.items())
    ]


def upscaled(image: Image.Image, pixels: int = TWELVE_MEGAPIXELS) -> tuple[Image.Image, float]:
    """``image`` enlarged to about ``pixels`` pixels, and the factor used."""
    factor = (pixels / (image.width * image.height)) ** 0.5
    size = (round(image.width * factor), round(image.height * factor))
    return image.resize(size, Image.Resampling.BICUBIC), factor


def scaled(boxes: list[Box], factor: float) -> list[Box]:
    return [
        replace(b, left=b.left / factor, top=b.top / factor, right=b.right / factor, bottom=b.bottom / factor)
        for b in boxes
    ]


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection
    return intersection / union if union > 0 else 0.0


def covers(label: tuple[float, float, float, float], box: Box) -> bool:
    """A detection finds a labelled face when they overlap well or the face's centre is in the box."""
    centre_x, centre_y = (label[0] + label[2]) / 2, (label[1] + label[3]) / 2
    inside = box.left <= centre_x <= box.right and box.top <= centre_y <= box.bottom
    return inside or overlap(label, (box.left, box.top, box.right, box.bottom)) > 0.3


def _unlabelled(name: str, box: Box) -> bool:
    centre_x, centre_y = (box.left + box.right) / 2, (box.top + box.bottom) / 2
    regions = UNLABELLED_FACES.get(name, ())
    return any(x0 <= centre_x <= x1 and y0 <= centre_y <= y1 for x0, y0, x1, y1 in regions)


def score(labelled: Labelled, boxes: list[Box]) -> Score:
    """Hits and false positives of ``boxes`` (in the original photo's pixels) against the labels."""
    known = [box for box in boxes if not _unlabelled(labelled.name, box)]
    unlabelled = len(boxes) - len(known)
    if labelled.boxes is None:
        hits = min(len(known), labelled.count)
        return Score(hits, len(known) - hits, unlabelled)
    used: set[int] = set()
    for label in labelled.boxes:
        match = next((i for i, box in enumerate(known) if i not in used and covers(label, box)), None)
        if match is not None:
            used.add(match)
    return Score(len(used), len(known) - len(used), unlabelled)


def still_found(original: list[Box], after: list[Box]) -> int:
    """How many of the faces found before anonymizing are found again, at the same place, after."""
    return sum(
        any(
            covers((o.left, o.top, o.right, o.bottom), a) or covers((a.left, a.top, a.right, a.bottom), o)
            for a in after
        )
        for o in original
    )


def labelled_found(labelled: Labelled, boxes: list[Box], reference: list[Box]) -> int:
    """How many labelled faces ``boxes`` find; for count-only photos, how many of ``reference`` (the
    faces found before anonymizing, less the known unlabelled ones) they find again."""
    if labelled.boxes is not None:
        return score(labelled, boxes).hits
    known = [box for box in reference if not _unlabelled(labelled.name, box)]
    return min(still_found(known, boxes), labelled.count)


@dataclass(frozen=True)
class CorpusRun:
    labelled: Labelled
    before: list[Box]  # found in the 12 MP input, in the original photo's pixels
    after: list[Box]  # found in the anonymized output, same coordinates
    output: Path
    result: Sanitized
