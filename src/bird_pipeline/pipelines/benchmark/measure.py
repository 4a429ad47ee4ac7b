"""Timing and memory measurements, each run in a fresh worker process.

A fresh process per case keeps the peak resident memory of one runtime from
hiding another's, and keeps thread settings from leaking between cases.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bird_pipeline.inference.memory import peak_rss_bytes
from bird_pipeline.inference.runtimes import Runtime, load_runtime
from bird_pipeline.inference.shift import shift_averaged_probs, with_context
from bird_pipeline.inference.stream import stream_windows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuntimeCase:
    """One runtime at one thread count, timed at several batch sizes."""

    runtime: str
    artefact: Path  # checkpoint, .onnx or .xml
    threads: int  # 0 uses every core
    batch_sizes: list[int]
    soundscapes: list[Path]  # the test soundscapes: real-time factor
    latency_files: dict[str, Path]  # e.g. {"10s": path}: per-file latency
    sample_rate: int
    window_seconds: float
    warmup_runs: int
    repeats: int
    precision_hint: str = "f32"
    measure_mel: bool = False  # also time the PyTorch mel front end alone
    shift_samples: int = 0  # test-time shift: each window also runs shifted both ways


def run_isolated(function: Callable[[Any], dict], case: Any) -> dict:
    """Run `function(case)` in a new spawned process and return its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, case).result()


def time_file(
    run: Runtime,
    path: Path,
    batch_size: int,
    sample_rate: int,
    window_seconds: float,
    shift_samples: int = 0,
) -> dict[str, float]:
    """Stream one file through a runtime; decoding and inference timed apart.

    With `shift_samples`, each window runs as is and shifted both ways, and
    the three probabilities are averaged, as `predict` does.

    Returns:
        `windows`, `audio_seconds`, `decode_seconds` (reading, downmixing and
        resampling), `inference_seconds` (the model, mel front end included) and
        `total_seconds`.
    """
    decode_seconds = inference_seconds = 0.0
    windows = 0
    blocks = with_context(
        stream_windows(path, sample_rate, window_seconds, batch_size), shift_samples
    )
    while True:
        started = time.perf_counter()
        item = next(blocks, None)
        decoded = time.perf_counter()
        decode_seconds += decoded - started
        if item is None:
            break
        block, extended = item
        shift_averaged_probs(run, block, extended, shift_samples, shift_samples)
        inference_seconds += time.perf_counter() - decoded
        windows += len(block)
    return {
        "windows": windows,
        "audio_seconds": windows * window_seconds,
        "decode_seconds": decode_seconds,
        "inference_seconds": inference_seconds,
        "total_seconds": decode_seconds + inference_seconds,
    }


def _fastest(
    run: Runtime, path: Path, batch_size: int, case: RuntimeCase
) -> dict[str, float]:
    runs = [
        time_file(
            run,
            path,
            batch_size,
            case.sample_rate,
            case.window_seconds,
            case.shift_samples,
        )
        for _ in range(case.repeats)
    ]
    return min(runs, key=lambda row: row["total_seconds"])


def _sum_rows(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ("windows", "audio_seconds", "decode_seconds", "inference_seconds")
    totals = {key: float(sum(row[key] for row in rows)) for key in keys}
    totals["total_seconds"] = totals["decode_seconds"] + totals["inference_seconds"]
    totals["real_time_factor"] = totals["total_seconds"] / totals["audio_seconds"]
    return totals


def _mel_seconds(case: RuntimeCase, batch_size: int) -> float:
    """Time the PyTorch mel front end alone over every soundscape window."""
    import torch

    from bird_pipeline.training.checkpoint import model_from_checkpoint

    frontend = model_from_checkpoint(
        torch.load(case.artefact, weights_only=True)
    ).frontend.eval()
    elapsed = 0.0
    for path in case.soundscapes:
        for block in stream_windows(
            path, case.sample_rate, case.window_seconds, batch_size
        ):
            started = time.perf_counter()
            with torch.inference_mode():
                frontend(torch.from_numpy(block))
            elapsed += time.perf_counter() - started
    return elapsed


def measure_runtime(case: RuntimeCase) -> dict[str, Any]:
    """Time a runtime over the soundscapes and latency files at each batch size.

    Every file is timed `repeats` times after `warmup_runs` inference calls on
    the first block of the first soundscape; the fastest run counts.

    Returns:
        `runtime`, `threads`, `rss_after_load_bytes`, `peak_rss_bytes` (over all
        batch sizes) and, per batch size, the per-file rows, their totals and
        the per-file latency of each latency file.
    """
    started = time.perf_counter()
    run = load_runtime(case.runtime, case.artefact, case.threads, case.precision_hint)
    load_seconds = time.perf_counter() - started
    rss_after_load = peak_rss_bytes()
    batches = []
    for batch_size in case.batch_sizes:
        warmup_block = next(
            stream_windows(
                case.soundscapes[0], case.sample_rate, case.window_seconds, batch_size
            )
        )
        for _ in range(case.warmup_runs):
            run(warmup_block)
        files = [
            {"file": path.name, **_fastest(run, path, batch_size, case)}
            for path in case.soundscapes
        ]
        latency = {
            name: _fastest(run, path, batch_size, case)["total_seconds"]
            for name, path in case.latency_files.items()
        }
        batches.append(
            {
                "batch_size": batch_size,
                "files": files,
                **_sum_rows(files),
                "latency_seconds": latency,
            }
        )
    result = {
        "runtime": case.runtime,
        "threads": case.threads,
        "load_seconds": load_seconds,
        "rss_after_load_bytes": rss_after_load,
        "peak_rss_bytes": peak_rss_bytes(),
        "batches": batches,
    }
    if case.measure_mel:
        result["mel_seconds"] = _mel_seconds(case, max(case.batch_sizes))
    return result


@dataclass(frozen=True)
class StreamingCase:
    """One file streamed through an OpenVINO IR, for peak memory."""

    runtime: str  # openvino_fp32, openvino_fp16 or openvino_int8
    ir_path: Path
    audio_path: Path
    threads: int
    batch_size: int
    sample_rate: int
    window_seconds: float
    precision_hint: str = "f32"


def measure_streaming(case: StreamingCase) -> dict[str, Any]:
    """Stream a file through OpenVINO, keep its probabilities, report peak memory.

    The probabilities of every window are kept, as `predict` keeps them, so the
    measured peak includes the growing output.
    """
    run = load_runtime(case.runtime, case.ir_path, case.threads, case.precision_hint)
    rss_after_load = peak_rss_bytes()
    started = time.perf_counter()
    logits = [
        run(block)
        for block in stream_windows(
            case.audio_path, case.sample_rate, case.window_seconds, case.batch_size
        )
    ]
    windows = sum(len(block) for block in logits)
    return {
        "file": case.audio_path.name,
        "audio_seconds": windows * case.window_seconds,
        "windows": windows,
        "total_seconds": time.perf_counter() - started,
        "rss_after_load_bytes": rss_after_load,
        "peak_rss_bytes": peak_rss_bytes(),
        "output_bytes": int(sum(np.asarray(block).nbytes for block in logits)),
    }
