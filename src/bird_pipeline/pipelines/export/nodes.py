"""Nodes of the `export` pipeline."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from bird_pipeline.audio.windows import split_windows
from bird_pipeline.export import check_parity, convert_openvino_model, export_onnx_model
from bird_pipeline.export.onnx import run_onnx
from bird_pipeline.inference.machine import describe_machine
from bird_pipeline.inference.runtime import compile_openvino, infer_logits
from bird_pipeline.training.checkpoint import model_from_checkpoint

logger = logging.getLogger(__name__)


def select_parity_windows(
    recordings: pd.DataFrame, audio_cache: Mapping[str, np.ndarray], params: dict
) -> np.ndarray:
    """Take real audio windows for the parity checks.

    Args:
        recordings: Decoded recordings table.
        audio_cache: Waveforms keyed by recording id.
        params: `export` parameters: `parity_windows` (how many), `sample_rate`
            (Hz) and `window_seconds`.

    Returns:
        `(windows, window_samples)` float32: the first window of up to
        `parity_windows` recordings, taken one species at a time in turn so that
        the check covers as many species as it can.
    """
    window_samples = round(params["window_seconds"] * params["sample_rate"])
    max_windows = int(params["parity_windows"])
    turn = recordings.groupby("primary_label", sort=False).cumcount()
    chosen = recordings.assign(turn=turn).sort_values("turn", kind="stable")
    windows = [
        split_windows(np.asarray(audio_cache[recording_id]), window_samples)[0]
        for recording_id in chosen["recording_id"][:max_windows]
    ]
    if not windows:
        raise ValueError(
            "no recordings to take parity windows from; run preprocess first"
        )
    return np.stack(windows)


def _reference_logits(model: torch.nn.Module, windows: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return model(windows).numpy()


def export_onnx(
    checkpoint: dict[str, Any], parity_windows: np.ndarray, params: dict
) -> tuple[Any, dict[str, Any]]:
    """Export the checkpoint to ONNX and check ONNX Runtime against PyTorch.

    Returns:
        The `onnx.ModelProto` and its parity report.

    Raises:
        ParityError: ONNX Runtime drifts beyond `parity_atol.onnxruntime`.
    """
    model = model_from_checkpoint(checkpoint).eval()
    windows = torch.from_numpy(parity_windows)
    model_proto = export_onnx_model(model, windows[:2], int(params["max_batch"]))
    report = check_parity(
        "onnxruntime",
        _reference_logits(model, windows),
        run_onnx(model_proto, windows).numpy(),
        float(params["parity_atol"]["onnxruntime"]),
    )
    logger.info("ONNX Runtime parity: %s", report)
    return model_proto, report


def convert_openvino(
    checkpoint: dict[str, Any], parity_windows: np.ndarray, params: dict
) -> tuple[Any, dict[str, Any]]:
    """Convert the checkpoint to OpenVINO IR with FP16 weights and check it.

    The check runs on the IR as it will be stored (weights compressed to FP16),
    compiled with `params["precision_hint"]`.

    Returns:
        The `openvino.Model` read back from the compressed IR, and its parity
        report.

    Raises:
        ParityError: OpenVINO drifts beyond `parity_atol.openvino`.
    """
    import openvino as ov

    model = model_from_checkpoint(checkpoint).eval()
    windows = torch.from_numpy(parity_windows)
    ov_model = convert_openvino_model(model, windows[:2])
    with tempfile.TemporaryDirectory() as staging:
        staged = str(Path(staging) / "model.xml")
        ov.save_model(ov_model, staged, compress_to_fp16=True)
        stored_model = ov.Core().read_model(staged)

    hint = str(params["precision_hint"])
    compiled = compile_openvino(stored_model, threads=0, precision_hint=hint)
    report = check_parity(
        "openvino",
        _reference_logits(model, windows),
        infer_logits(compiled, parity_windows, batch_size=len(parity_windows)),
        float(params["parity_atol"]["openvino"]),
    )
    report["precision_hint"] = hint
    report["weights"] = "fp16"
    logger.info("OpenVINO parity: %s", report)
    return stored_model, report


def write_export_report(
    checkpoint: dict[str, Any],
    onnx_parity: dict[str, Any],
    openvino_parity: dict[str, Any],
    parity_windows: np.ndarray,
) -> dict[str, Any]:
    """Collect what was exported and how closely it matches PyTorch."""
    return {
        "preset": checkpoint["preset"]["name"],
        "stage": checkpoint["stage"],
        "classes": len(checkpoint["classes"]),
        "parity_windows": int(len(parity_windows)),
        "parity": [onnx_parity, openvino_parity],
        "machine": describe_machine(),
    }
