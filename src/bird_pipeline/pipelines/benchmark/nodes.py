"""Nodes of the `benchmark` pipeline."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bird_pipeline.inference import (
    compile_openvino,
    decode_soundscape_windows,
    infer_logits,
)
from bird_pipeline.inference.machine import describe_machine

logger = logging.getLogger(__name__)


def _time_file(
    compiled: Any,
    loader: Callable[[], tuple[np.ndarray, int]],
    params: dict,
) -> dict[str, float]:
    start = time.perf_counter()
    windows = decode_soundscape_windows(
        loader, params["sample_rate"], params["window_seconds"]
    )
    decoded = time.perf_counter()
    infer_logits(compiled, windows, int(params["batch_size"]))
    finished = time.perf_counter()
    audio_seconds = len(windows) * params["window_seconds"]
    return {
        "windows": len(windows),
        "audio_seconds": audio_seconds,
        "decode_seconds": decoded - start,
        "inference_seconds": finished - decoded,
        "total_seconds": finished - start,
    }


def benchmark_openvino(
    model_ir: Any, test_soundscapes: dict[str, Callable], params: dict
) -> dict[str, Any]:
    """Time decoding plus OpenVINO inference, mel included, per soundscape.

    Args:
        model_ir: The exported `openvino.Model`.
        test_soundscapes: Loaders keyed by soundscape file name.
        params: `benchmark` parameters: `threads`, `precision_hint`,
            `batch_size`, `sample_rate`, `window_seconds`, `warmup_runs`,
            `repeats`, `projected_audio_minutes` and `budget_minutes`.

    Returns:
        The report: per-file latency, totals, real-time factor, and the
        projected time for `projected_audio_minutes` of audio against
        `budget_minutes`.
    """
    if not test_soundscapes:
        raise ValueError(
            "no test soundscapes to time; put audio files in test_soundscapes/ "
            "of the raw data folder"
        )
    compiled = compile_openvino(
        model_ir, int(params["threads"]), str(params["precision_hint"])
    )
    first = next(iter(test_soundscapes.values()))
    for _ in range(int(params["warmup_runs"])):
        _time_file(compiled, first, params)

    files = []
    for name, loader in test_soundscapes.items():
        runs = [
            _time_file(compiled, loader, params) for _ in range(int(params["repeats"]))
        ]
        best = min(runs, key=lambda run: run["total_seconds"])
        files.append({"file": name, **best})
        logger.info(
            "Benchmark %s: %.3f s for %.0f s of audio",
            name,
            best["total_seconds"],
            best["audio_seconds"],
        )

    audio_seconds = sum(row["audio_seconds"] for row in files)
    total_seconds = sum(row["total_seconds"] for row in files)
    real_time_factor = total_seconds / audio_seconds
    projected_minutes = float(params["projected_audio_minutes"]) * real_time_factor
    report = {
        "runtime": "openvino",
        "threads": int(params["threads"]) or describe_machine()["logical_cores"],
        "precision_hint": compiled.get_property("INFERENCE_PRECISION_HINT").to_string(),
        "batch_size": int(params["batch_size"]),
        "repeats": int(params["repeats"]),
        "files": files,
        "audio_seconds": audio_seconds,
        "decode_seconds": sum(row["decode_seconds"] for row in files),
        "inference_seconds": sum(row["inference_seconds"] for row in files),
        "total_seconds": total_seconds,
        "real_time_factor": real_time_factor,
        "speed_x_real_time": 1.0 / real_time_factor,
        "projection": {
            "audio_minutes": float(params["projected_audio_minutes"]),
            "projected_minutes": projected_minutes,
            "budget_minutes": float(params["budget_minutes"]),
            "within_budget": projected_minutes <= float(params["budget_minutes"]),
        },
        "machine": describe_machine(),
    }
    logger.info(
        "OpenVINO runs %.1fx real time: %.0f min of audio project to %.1f min "
        "(budget %.0f min)",
        report["speed_x_real_time"],
        params["projected_audio_minutes"],
        projected_minutes,
        params["budget_minutes"],
    )
    return report
