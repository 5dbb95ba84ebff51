"""CenterFace post-processing (decoding, suppression, scales) and detection on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

pytest.importorskip("onnxruntime")

from faces_helpers import load_labels, score, upscaled

from watcher.faces import detect
from watcher.faces.model import Outputs

coordinate = st.floats(min_value=0, max_value=500, allow_nan=False)


@st.composite
def box_rows(draw: st.DrawFn) -> np.ndarray:
    count = draw(st.integers(min_value=0, max_value=30))
    rows = []
    for _ in range(count):
        left, top = draw(coordinate), draw(coordinate)
        width = draw(st.floats(min_value=1, max_value=200))
        height = draw(st.floats(min_value=1, max_value=200))
        rows.append([left, top, left + width, top + height, draw(st.floats(min_value=0.4, max_value=1))])
    return np.asarray(rows, dtype=np.float32).reshape(-1, 5)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    intersection = width * height
    return float(
        intersection / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - intersection)
    )


@given(box_rows())
def test_suppression_covers_every_candidate_with_fewer_boxes(boxes: np.ndarray) -> None:
    kept = detect._suppress(boxes.copy(), detect.OVERLAP_THRESHOLD)
    assert len(kept) <= len(boxes)
    assert set(kept[:, 4].tolist()) <= set(boxes[:, 4].tolist())
    for candidate in boxes:
        assert any(
            k[0] <= candidate[0] and k[1] <= candidate[1] and candidate[2] <= k[2] and candidate[3] <= k[3]
            for k in kept
        )


@given(box_rows())
def test_suppression_leaves_distinct_faces_apart(boxes: np.ndarray) -> None:
    kept = detect._suppress(boxes.copy(), detect.OVERLAP_THRESHOLD)
    separate = [row for row in boxes if all(iou(row, other) == 0 for other in boxes if other is not row)]
    assert len(kept) >= len(separate)


@given(st.integers(min_value=1, max_value=5000))
def test_strips_own_every_row_once_and_see_their_margins(height: int) -> None:
    windows = detect._strips(height)
    owned = [row for _, _, start, end in windows for row in range(start, end)]
    assert owned == list(range(height))
    for top, bottom, start, end in windows:
        assert top == max(0, start - detect.STRIP_OVERLAP) and bottom == min(
            height, end + detect.STRIP_OVERLAP
        )
        assert bottom - top <= detect.STRIP_ROWS + 2 * detect.STRIP_OVERLAP


def test_decoding_reads_centre_size_and_score_from_the_maps() -> None:
    heatmap = np.zeros((1, 10, 12), np.float32)
    heatmap[0, 5, 7] = 0.9
    heatmap[0, 2, 2] = 0.3  # under the threshold
    scale = np.zeros((2, 10, 12), np.float32)
    scale[0, 5, 7] = np.log(10.0)  # 10 cells * 4 px = 40 px high
    scale[1, 5, 7] = np.log(8.0)  # 32 px wide
    offset = np.zeros((2, 10, 12), np.float32)
    offset[:, 5, 7] = 0.25
    boxes = detect._decode(Outputs(heatmap=heatmap, scale=scale, offset=offset), 0.4)
    centre_x, centre_y = (7 + 0.25 + 0.5) * 4, (5 + 0.25 + 0.5) * 4
    np.testing.assert_allclose(
        boxes, [[centre_x - 16, centre_y - 20, centre_x + 16, centre_y + 20, 0.9]], rtol=1e-5
    )


def test_the_overview_pass_only_runs_where_it_adds_a_scale() -> None:
    assert detect._scales((500, 375)) == [500]
    assert detect._scales((4000, 3000)) == [detect.DETAIL_LONG_SIDE, detect.OVERVIEW_LONG_SIDE]


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA"])
def test_a_plain_picture_has_no_face(mode: str) -> None:
    assert detect.detect_faces(Image.new(mode, (640, 480), 128)) == []


def test_boxes_come_back_in_the_input_pixels_whatever_its_size() -> None:
    labelled = next(item for item in load_labels() if item.name == "2008_001322.jpg")
    with Image.open(labelled.path) as image:
        rgb = image.convert("RGB")
    large, factor = upscaled(rgb)
    small_boxes = detect.detect_faces(rgb)
    large_boxes = detect.detect_faces(large)
    assert score(labelled, small_boxes).hits == labelled.count
    assert len(large_boxes) == len(small_boxes)
    for box in large_boxes:
        assert 0 <= box.left < box.right <= large.width and 0 <= box.top < box.bottom <= large.height
    widths = sorted(box.width / factor for box in large_boxes)
    assert widths == pytest.approx(sorted(box.width for box in small_boxes), rel=0.35)
