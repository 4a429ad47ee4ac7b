"""Compile OpenVINO models for the CPU and run them over batches of windows."""

from __future__ import annotations

from typing import Any

import numpy as np


def compile_openvino(
    model: Any,
    threads: int,
    precision_hint: str,
    extra_config: dict[str, Any] | None = None,
) -> Any:
    """Compile an `openvino.Model` for the CPU.

    Args:
        model: The model read from IR.
        threads: Inference threads; 0 lets OpenVINO use every core.
        precision_hint: `f32`, `f16` or `bf16`. Pinned because OpenVINO picks
            bf16 by itself on CPUs with AMX or AVX-512 BF16.
        extra_config: More CPU plugin properties, e.g. `{"PERF_COUNT": True}`.

    Returns:
        The compiled model.
    """
    import openvino as ov

    config: dict[str, Any] = {
        "INFERENCE_PRECISION_HINT": precision_hint,
        "PERFORMANCE_HINT": "LATENCY",
    }
    if threads > 0:
        config["INFERENCE_NUM_THREADS"] = threads
    config.update(extra_config or {})
    return ov.Core().compile_model(model, "CPU", config)


def infer_logits(compiled: Any, windows: np.ndarray, batch_size: int) -> np.ndarray:
    """Run a compiled model over `(windows, samples)` in batches.

    Returns:
        Logits `(windows, classes)`, float32.
    """
    request = compiled.create_infer_request()
    outputs = []
    for start in range(0, len(windows), batch_size):
        batch = np.ascontiguousarray(
            windows[start : start + batch_size], dtype=np.float32
        )
        result = request.infer({0: batch})
        outputs.append(np.asarray(result[compiled.output(0)], dtype=np.float32))
    return np.concatenate(outputs, axis=0)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Return probabilities from logits without overflow warnings."""
    return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)
