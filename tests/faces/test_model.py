"""Loading the packaged model: offline, checked, cached, and failing closed when anything is wrong."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

pytest.importorskip("onnxruntime")

from tests.conftest import FACES
from watcher.errors import ConfigError
from watcher.faces import detect_faces, faces_available, require_faces
from watcher.faces import model as face_model
from watcher.faces.model import FaceModelError


def test_the_shipped_model_is_the_patched_centerface() -> None:
    assert hashlib.sha256(face_model.MODEL_PATH.read_bytes()).hexdigest() == face_model.MODEL_SHA256
    assert face_model.MODEL_PATH.with_name("LICENSE-centerface.txt").read_text().startswith("MIT License")


def test_the_detector_loads_once_per_thread_count() -> None:
    assert faces_available()
    require_faces()
    assert face_model.detector(1) is face_model.detector(1)
    assert face_model.default_threads() >= 1


def test_zero_threads_is_refused() -> None:
    with pytest.raises(FaceModelError, match="at least one thread"):
        face_model.detector(0)


@pytest.fixture
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(face_model, "_detectors", {})


@pytest.mark.usefixtures("fresh_cache")
def test_a_damaged_model_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    damaged = bytearray(face_model.MODEL_PATH.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "centerface.onnx").write_bytes(bytes(damaged))
    monkeypatch.setattr(face_model, "MODEL_PATH", tmp_path / "centerface.onnx")
    with pytest.raises(FaceModelError, match="damaged or was replaced"):
        face_model.detector(1)
    assert not faces_available()
    with pytest.raises(ConfigError, match="cannot start"):
        require_faces()


@pytest.mark.usefixtures("fresh_cache")
def test_a_missing_model_fails_closed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(face_model, "MODEL_PATH", tmp_path / "absent.onnx")
    with pytest.raises(FaceModelError, match="cannot be read"):
        face_model.detector(1)


@pytest.mark.usefixtures("fresh_cache")
def test_a_missing_extra_is_a_config_error_with_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(face_model, "extra_installed", lambda: False)
    assert not faces_available()
    with pytest.raises(ConfigError, match=r"pip install 'sharesafe\[faces\]'"):
        require_faces()


def test_threads_share_one_session_and_agree() -> None:
    with Image.open(FACES / "2008_001322.jpg") as image:
        rgb = image.convert("RGB")
    with ThreadPoolExecutor(max_workers=4) as pool:
        detectors = list(pool.map(lambda _: face_model.detector(1), range(8)))
        results = list(pool.map(lambda _: detect_faces(rgb, threads=1), range(4)))
    assert all(found is detectors[0] for found in detectors)
    assert all(result == results[0] for result in results) and len(results[0]) == 3
