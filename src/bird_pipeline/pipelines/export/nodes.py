"""Nodes of the `export` pipeline.

Every gate (ONNX Runtime and OpenVINO FP32 and FP16 parity, the INT8 metric
drop) runs on in-memory candidates. Only `write_exports`, the last node, hands
the models to the catalog, so a failing gate leaves no model file behind.
"""

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
from bird_pipeline.evaluation import padded_cmap
from bird_pipeline.export import (
    check_metric_drop,
    check_parity,
    convert_openvino_model,
    export_onnx_model,
    prepare_for_export,
    quantize_int8,
)
from bird_pipeline.export.onnx import run_onnx
from bird_pipeline.inference.machine import describe_machine
from bird_pipeline.inference.runtime import compile_openvino, infer_logits, sigmoid
from bird_pipeline.pipelines.export.windows import ValidationWindows
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
    model = prepare_for_export(model_from_checkpoint(checkpoint))
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


def _stored_logits(
    ov_model: Any, windows: np.ndarray, compress_to_fp16: bool, precision_hint: str
) -> np.ndarray:
    """Save the model as IR, read it back and run it, as a user of the file would."""
    import openvino as ov

    with tempfile.TemporaryDirectory() as staging:
        staged = str(Path(staging) / "model.xml")
        ov.save_model(ov_model, staged, compress_to_fp16=compress_to_fp16)
        stored_model = ov.Core().read_model(staged)
        compiled = compile_openvino(
            stored_model, threads=0, precision_hint=precision_hint
        )
        return infer_logits(compiled, windows, batch_size=len(windows))


def convert_openvino(
    checkpoint: dict[str, Any], parity_windows: np.ndarray, params: dict
) -> tuple[Any, list[dict[str, Any]]]:
    """Convert the checkpoint to an OpenVINO model and check its FP32 and FP16 IR.

    Both checks run on the IR as it will be stored (FP32 weights, or weights
    compressed to FP16), compiled with `params["precision_hint"]`.

    Returns:
        The FP32 `openvino.Model` and the parity reports of `openvino_fp32` and
        `openvino_fp16`.

    Raises:
        ParityError: An IR drifts beyond `parity_atol.openvino_fp32` or
            `parity_atol.openvino_fp16`.
    """
    model = prepare_for_export(model_from_checkpoint(checkpoint))
    windows = torch.from_numpy(parity_windows)
    ov_model = convert_openvino_model(model, windows[:2])
    reference = _reference_logits(model, windows)

    hint = str(params["precision_hint"])
    reports = []
    for runtime, compress in (("openvino_fp32", False), ("openvino_fp16", True)):
        report = check_parity(
            runtime,
            reference,
            _stored_logits(ov_model, parity_windows, compress, hint),
            float(params["parity_atol"][runtime]),
        )
        report["precision_hint"] = hint
        report["weights"] = "fp16" if compress else "fp32"
        logger.info("OpenVINO parity: %s", report)
        reports.append(report)
    return ov_model, reports


def quantize_openvino(
    ov_model: Any,
    calibration_windows: np.ndarray,
    validation: ValidationWindows,
    params: dict,
) -> tuple[Any, dict[str, Any]]:
    """Quantise the FP32 model to INT8 and gate it on its validation metric drop.

    Returns:
        The INT8 `openvino.Model` and its report: the padded cmAP of FP32 and
        INT8 on the validation windows, the drop, the largest probability
        difference from FP32, and where the validation windows come from.

    Raises:
        ParityError: The padded cmAP drops by more than `int8.max_cmap_drop`.
    """
    settings = params["int8"]
    hint = str(params["precision_hint"])
    quantized = quantize_int8(ov_model, calibration_windows)
    batch_size = int(settings["batch_size"])
    fp32_probs = sigmoid(
        infer_logits(
            compile_openvino(ov_model, 0, hint), validation.windows, batch_size
        )
    )
    int8_probs = sigmoid(
        infer_logits(
            compile_openvino(quantized, 0, hint), validation.windows, batch_size
        )
    )
    report = check_metric_drop(
        "openvino_int8",
        padded_cmap(validation.truth, fp32_probs),
        padded_cmap(validation.truth, int8_probs),
        float(settings["max_cmap_drop"]),
    )
    report.update(
        {
            "max_abs_prob_diff_vs_fp32": float(np.abs(fp32_probs - int8_probs).max()),
            "precision_hint": hint,
            "weights": "int8",
            "calibration_windows": len(calibration_windows),
            "validation_windows": len(validation.windows),
            "validation_source": validation.source,
        }
    )
    logger.info("OpenVINO INT8 gate: %s", report)
    return quantized, report


def write_exports(
    checkpoint: dict[str, Any],
    onnx_model: Any,
    ov_model: Any,
    int8_model: Any,
    onnx_parity: dict[str, Any],
    openvino_parity: list[dict[str, Any]],
    int8_report: dict[str, Any],
    parity_windows: np.ndarray,
) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
    """Hand the checked models to the catalog and collect the export report.

    Runs after every gate has passed. The FP32 and FP16 IR come from the same
    model; their catalog datasets decide whether weights are compressed.

    Returns:
        `model_onnx`, `model_ir_fp32`, `model_ir_fp16`, `model_ir_int8` and the
        export report.
    """
    report = {
        "preset": checkpoint["preset"]["name"],
        "stage": checkpoint["stage"],
        "classes": len(checkpoint["classes"]),
        "parity_windows": int(len(parity_windows)),
        "parity": [onnx_parity, *openvino_parity],
        "int8": int8_report,
        "machine": describe_machine(),
    }
    return onnx_model, ov_model, ov_model, int8_model, report
