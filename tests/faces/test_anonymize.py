"""Blur, mosaic and fill: the whole face goes, nothing outside its padded region changes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageFilter

pytest.importorskip("numpy")

from faces_helpers import FACES

from watcher.faces.anonymize import anonymize_faces, padded_region
from watcher.faces.detect import Box

SIZE = (320, 240)


@st.composite
def face_boxes(draw: st.DrawFn) -> Box:
    width = draw(st.integers(min_value=4, max_value=200))
    height = draw(st.integers(min_value=4, max_value=200))
    left = draw(st.integers(min_value=-20, max_value=SIZE[0] - 2))
    top = draw(st.integers(min_value=-20, max_value=SIZE[1] - 2))
    return Box(float(left), float(top), float(left + width), float(top + height), 0.9)


def photo() -> Image.Image:
    with Image.open(FACES / "2008_001009.jpg") as image:
        return image.convert("RGB").crop((0, 0, *SIZE))


@given(face_boxes())
def test_the_padded_region_holds_the_box_and_stays_in_the_picture(box: Box) -> None:
    region = padded_region(box, SIZE)
    assert 0 <= region.left <= max(0, box.left) and 0 <= region.top <= max(0, box.top)
    assert min(SIZE[0], box.right) <= region.right <= SIZE[0]
    assert min(SIZE[1], box.bottom) <= region.bottom <= SIZE[1]
    assert region.top <= box.top - 0.45 * box.height or region.top == 0  # room for the hair


@settings(max_examples=40, deadline=None)
@given(face_boxes(), st.sampled_from(["blur", "mosaic", "fill"]))
def test_only_the_padded_region_changes(box: Box, method: str) -> None:
    original = photo()
    treated = original.copy()
    anonymize_faces(treated, [box], method, seed=1)  # type: ignore[arg-type]
    region = padded_region(box, SIZE)
    difference = np.asarray(ImageChops.difference(original, treated)).sum(axis=2)
    difference[region.top : region.bottom, region.left : region.right] = 0
    assert not difference.any()


@settings(max_examples=40, deadline=None)
@given(face_boxes())
def test_the_ellipse_covers_the_whole_face_box(box: Box) -> None:
    treated = Image.new("RGB", SIZE, (200, 180, 160))
    anonymize_faces(treated, [box], "fill")
    left, top = max(0, int(box.left) + 1), max(0, int(box.top) + 1)
    right, bottom = min(SIZE[0], int(box.right) - 1), min(SIZE[1], int(box.bottom) - 1)
    if right > left and bottom > top:
        assert not np.asarray(treated.crop((left, top, right, bottom))).any()


def detail(image: Image.Image) -> float:
    edges = np.asarray(image.convert("L").filter(ImageFilter.FIND_EDGES), dtype=np.float32)
    return float(edges[2:-2, 2:-2].mean())  # the filter's own border is not the picture's


@pytest.mark.parametrize("method", ["blur", "mosaic"])
def test_blur_and_mosaic_leave_no_facial_detail(method: str) -> None:
    face = Box(145, 79, 221, 155, 0.9)  # labelled in 2008_001009.jpg
    original = photo()
    treated = original.copy()
    assert anonymize_faces(treated, [face], method, seed=1) == 1  # type: ignore[arg-type]
    inner = (160, 95, 205, 140)
    if method == "blur":
        assert detail(treated.crop(inner)) < 0.2 * detail(original.crop(inner))
    else:
        # At most five blocks across the padded face: the centre row changes value only at block edges.
        row = np.asarray(treated.convert("L"))[117, 126:240]
        assert np.count_nonzero(np.diff(row.astype(np.int16))) <= 8


def test_the_noise_makes_two_runs_differ() -> None:
    face = Box(145, 79, 221, 155, 0.9)
    first, second = photo(), photo()
    anonymize_faces(first, [face], "blur", seed=1)
    anonymize_faces(second, [face], "blur", seed=2)
    assert ImageChops.difference(first, second).getbbox() is not None


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "CMYK"])
def test_every_working_mode_is_handled_and_alpha_is_kept(mode: str) -> None:
    image = photo().convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(SIZE))
    alpha_before = image.getchannel("A").tobytes() if mode == "RGBA" else None
    for method in ("blur", "mosaic", "fill"):
        treated = image.copy()
        anonymize_faces(treated, [Box(145, 79, 221, 155, 0.9)], method)  # type: ignore[arg-type]
        assert treated.mode == mode
        assert ImageChops.difference(image.convert("RGB"), treated.convert("RGB")).getbbox() is not None
        if alpha_before is not None:
            assert treated.getchannel("A").tobytes() == alpha_before
