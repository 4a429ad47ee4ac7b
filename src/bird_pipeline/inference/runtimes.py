"""One call signature for every CPU runtime: windows in, logits out.

The benchmark compares PyTorch eager, ONNX Runtime and OpenVINO on FP32, FP16
and INT8 IR through `load_runtime`, so each is timed on identical work.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

RUNTIMES = (
    "pytorch",
    "onnxruntime",
    "openvino_fp32",
    "openvino_fp16",
    "openvino_int8",
)
Runtime = Callable[[np.ndarray], np.ndarray]


def _load_pytorch(checkpoint_path: Path, threads: int) -> Runtime:
    import torch

    from bird_pipeline.export import prepare_for_export
    from bird_pipeline.training.checkpoint import model_from_checkpoint

    torch.set_num_threads(threads or os.cpu_count() or 1)
    checkpoint = torch.load(checkpoint_path, weights_only=True)
    model = prepare_for_export(model_from_checkpoint(checkpoint))

    def run(windows: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(windows)).numpy()

    return run


def _load_onnxruntime(onnx_path: Path, threads: int) -> Runtime:
    import onnxruntime as ort

    from bird_pipeline.export.onnx import INPUT_NAME, OUTPUT_NAME

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads  # 0 lets ONNX Runtime use every core
    session = ort.InferenceSession(
        str(onnx_path), options, providers=["CPUExecutionProvider"]
    )

    def run(windows: np.ndarray) -> np.ndarray:
        (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: windows})
        return logits

    return run


def _load_openvino(ir_path: Path, threads: int, precision_hint: str) -> Runtime:
    import openvino as ov

    from bird_pipeline.inference.runtime import compile_openvino

    compiled = compile_openvino(
        ov.Core().read_model(str(ir_path)), threads, precision_hint
    )
    request = compiled.create_infer_request()
    output = compiled.output(0)

    def run(windows: np.ndarray) -> np.ndarray:
        return np.asarray(request.infer({0: windows})[output], dtype=np.float32)

    return run


def load_runtime(
    name: str, artefact: str | Path, threads: int, precision_hint: str = "f32"
) -> Runtime:
    """Load a model into a runtime that maps `(batch, samples)` to logits.

    Args:
        name: One of `RUNTIMES`.
        artefact: The checkpoint (`pytorch`), `.onnx` file (`onnxruntime`) or
            IR `.xml` file (`openvino_*`).
        threads: Inference threads; 0 uses every core.
        precision_hint: OpenVINO CPU precision; the other runtimes compute in FP32.

    Raises:
        ValueError: `name` is not a known runtime.
    """
    path = Path(artefact)
    if name == "pytorch":
        return _load_pytorch(path, threads)
    if name == "onnxruntime":
        return _load_onnxruntime(path, threads)
    if name.startswith("openvino_") and name in RUNTIMES:
        return _load_openvino(path, threads, precision_hint)
    raise ValueError(f"unknown runtime {name!r}; choose one of {RUNTIMES}")
