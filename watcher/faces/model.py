"""The packaged CenterFace model, loaded once per process with onnxruntime, fully offline.

The model file ships inside the package (``centerface.onnx``, patched by ``scripts/patch_centerface.py``);
nothing is ever fetched. Its sha256 is checked at every load, so a damaged or swapped file fails closed
instead of silently detecting nothing.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from watcher.errors import WatcherError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MODEL_PATH = Path(__file__).with_name("centerface.onnx")
MODEL_SHA256 = "2115b2d7d501b3070953f0346813cab6ca4235acefe0f0e5ee7fd45e7b2889cf"
INPUT_NAME = "input.1"
OUTPUT_NAMES = ("537", "538", "539")  # heatmap, scale, offset; the landmarks ("540") are not needed
# onnxruntime's levels: 0 verbose, 1 info, 2 warning, 3 error, 4 fatal.
ERRORS_ONLY = 3


class FaceModelError(WatcherError):
    """The face detector cannot run (extra not installed, model file missing or damaged)."""


@dataclass(frozen=True)
class Outputs:
    """CenterFace's raw maps for one image, each of shape (channels, grid_height, grid_width)."""

    heatmap: npt.NDArray[np.float32]
    scale: npt.NDArray[np.float32]
    offset: npt.NDArray[np.float32]


def extra_installed() -> bool:
    """True when the ``faces`` extra (onnxruntime and numpy) is importable."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "numpy"))


_configured_threads: int | None = None


def set_default_threads(threads: int | None) -> None:
    """The config's `face_threads` (None: half the cores)."""
    global _configured_threads  # one process-wide setting, made once at start-up before any fork
    _configured_threads = threads


def default_threads() -> int:
    """The configured count, else half the cores, at least one: detection shares the machine with the
    watcher's other workers."""
    if _configured_threads is not None:
        return _configured_threads
    return max(1, (os.cpu_count() or 2) // 2)


class _Detector:
    """One onnxruntime session; ``run`` is safe to call from several threads at once."""

    def __init__(self, session: Any) -> None:  # an onnxruntime.InferenceSession (the package is untyped)
        self._session = session

    def run(self, batch: npt.NDArray[np.float32]) -> Outputs:
        heatmap, scale, offset = self._session.run(list(OUTPUT_NAMES), {INPUT_NAME: batch})
        return Outputs(heatmap=heatmap[0], scale=scale[0], offset=offset[0])


_lock = threading.Lock()
_detectors: dict[int, _Detector] = {}


def detector(threads: int | None = None) -> _Detector:
    """The cached detector for ``threads`` intra-op threads (default: half the cores)."""
    count = default_threads() if threads is None else threads
    if count < 1:
        raise FaceModelError(f"the face detector needs at least one thread, not {count}")
    with _lock:
        found = _detectors.get(count)
        if found is None:
            found = _Detector(_load_session(count))
            _detectors[count] = found
        return found


def _model_bytes() -> bytes:
    try:
        data = MODEL_PATH.read_bytes()
    except OSError as err:
        raise FaceModelError(
            f"the face model {MODEL_PATH} cannot be read ({err.strerror}); reinstall"
        ) from err
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise FaceModelError(
            f"the face model {MODEL_PATH} is damaged or was replaced (sha256 differs); reinstall"
        )
    return data


def _load_session(threads: int) -> Any:
    if not extra_installed():
        raise FaceModelError("face anonymization needs the extra: pip install 'sharesafe[faces]'")
    # Imported by name: onnxruntime ships no type information, and is only there with the extra.
    onnxruntime = importlib.import_module("onnxruntime")

    # The hash is checked on the very bytes handed to onnxruntime, so the file cannot change in between.
    data = _model_bytes()
    onnxruntime.set_default_logger_severity(ERRORS_ONLY)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = ERRORS_ONLY
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    # The memory pattern plans one block for every intermediate tensor of a shape at once: about 150 MB
    # more at the peak than the arena's reuse, for no measurable speed.
    options.enable_mem_pattern = False
    # Busy-waiting threads would burn the cores the other workers need between photos.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own untyped errors
        raise FaceModelError(f"the face model cannot be loaded ({type(err).__name__}); reinstall") from err
