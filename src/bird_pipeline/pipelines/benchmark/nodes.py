"""Nodes of the `benchmark` pipeline.

Every case runs in a fresh worker process (see `measure`), on the same
soundscapes and machine, so the runtimes compare like for like.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from bird_pipeline.datasets import AudioFile, IRLoader
from bird_pipeline.inference.machine import describe_machine
from bird_pipeline.models.presets import ModelPreset
from bird_pipeline.pipelines.benchmark.audio import (
    decode_source_audio,
    write_tiled_audio,
)
from bird_pipeline.pipelines.benchmark.measure import (
    RuntimeCase,
    StreamingCase,
    measure_runtime,
    measure_streaming,
    run_isolated,
)
from bird_pipeline.pipelines.benchmark.projection import project_test_sets
from bird_pipeline.pipelines.benchmark.report import (
    check_targets,
    plot_benchmark,
    summarize_runtimes,
)
from bird_pipeline.pipelines.predict.nodes import (
    member_shift_samples,
    parse_presets,
    select_ensemble,
)

logger = logging.getLogger(__name__)


def _soundscape_paths(test_soundscapes: dict[str, AudioFile]) -> list[Path]:
    if not test_soundscapes:
        raise ValueError(
            "no test soundscapes to time; put audio files in test_soundscapes/ "
            "of the raw data folder"
        )
    return [audio_file.path for audio_file in test_soundscapes.values()]


def _write_artefacts(
    folder: Path, checkpoint: dict, model_onnx: Any, irs: dict[str, Any]
) -> dict[str, Path]:
    """Write the models where worker processes can read them; returns runtime paths."""
    import onnx
    import openvino as ov

    paths = {"pytorch": folder / "checkpoint.pt", "onnxruntime": folder / "model.onnx"}
    torch.save(checkpoint, paths["pytorch"])
    onnx.save(model_onnx, str(paths["onnxruntime"]))
    for precision, ir in irs.items():
        paths[f"openvino_{precision}"] = folder / f"model_{precision}.xml"
        # The loaded model keeps its stored weight types, so no compression here.
        ov.save_model(ir, str(paths[f"openvino_{precision}"]), compress_to_fp16=False)
    return paths


def _runtime_case(
    runtime: str,
    artefact: Path,
    threads: int,
    soundscapes: list[Path],
    latency_files: dict[str, Path],
    params: dict,
    batch_sizes: list[int],
    shift_samples: int,
) -> RuntimeCase:
    return RuntimeCase(
        runtime=runtime,
        artefact=artefact,
        threads=threads,
        batch_sizes=batch_sizes,
        soundscapes=soundscapes,
        latency_files=latency_files,
        sample_rate=int(params["sample_rate"]),
        window_seconds=float(params["window_seconds"]),
        warmup_runs=int(params["warmup_runs"]),
        repeats=int(params["repeats"]),
        precision_hint=str(params["precision_hint"]),
        measure_mel=runtime == "pytorch",
        shift_samples=shift_samples,
    )


def benchmark_runtimes(
    checkpoint: dict[str, Any],
    model_onnx: Any,
    model_ir_fp32: Any,
    model_ir_fp16: Any,
    model_ir_int8: Any,
    test_soundscapes: dict[str, AudioFile],
    params: dict,
) -> dict[str, list[dict[str, Any]]]:
    """Time every runtime at every thread count and batch size on the same files.

    Each file is streamed (decoded in blocks, inferred in batches). Decoding and
    inference are timed apart; the mel front end is inside every model and is
    also timed alone in PyTorch. A preset with a test-time shift runs each
    window three times, as `predict` does.

    Returns:
        `{"cases": [...]}`, one result per (runtime, threads) as
        `measure_runtime` returns it.
    """
    soundscapes = _soundscape_paths(test_soundscapes)
    sample_rate = int(params["sample_rate"])
    shift_samples = ModelPreset(**checkpoint["preset"]).shift_samples
    irs = {"fp32": model_ir_fp32, "fp16": model_ir_fp16, "int8": model_ir_int8}
    results = []
    with tempfile.TemporaryDirectory(prefix="benchmark-") as staging:
        folder = Path(staging)
        artefacts = _write_artefacts(folder, checkpoint, model_onnx, irs)
        source = decode_source_audio(test_soundscapes, sample_rate)
        latency_files = {
            f"{seconds:g}s": write_tiled_audio(
                source,
                float(seconds),
                folder / f"latency_{seconds:g}s",
                sample_rate,
                str(params["latency_format"]),
            )
            for seconds in params["latency_seconds"]
        }
        del source
        for runtime in tqdm(params["runtimes"], desc="Benchmark", unit="runtime"):
            if runtime not in artefacts:
                raise ValueError(
                    f"unknown runtime {runtime!r} in benchmark.runtimes; choose from "
                    f"{sorted(artefacts)}"
                )
            for threads in params["threads"]:
                case = _runtime_case(
                    runtime,
                    artefacts[runtime],
                    int(threads),
                    soundscapes,
                    latency_files,
                    params,
                    [int(size) for size in params["batch_sizes"]],
                    shift_samples,
                )
                result = run_isolated(measure_runtime, case)
                best = min(result["batches"], key=lambda row: row["total_seconds"])
                logger.info(
                    "Benchmark %s, %d threads: real-time factor %.4f at batch %d, "
                    "peak memory %.0f MiB",
                    runtime,
                    int(threads),
                    best["real_time_factor"],
                    best["batch_size"],
                    result["peak_rss_bytes"] / 2**20,
                )
                results.append(result)
    return {"cases": results}


def benchmark_streaming(
    exported_models: dict[str, dict[str, IRLoader]],
    test_soundscapes: dict[str, AudioFile],
    model: str,
    params: dict,
) -> dict[str, Any]:
    """Compare peak memory of a short and a long file streamed through one IR.

    Both files are the test soundscapes repeated to length; each is streamed in
    its own fresh process, keeping every window's logits.

    Returns:
        Both measurements, the ratio of their peaks and whether it stays within
        `streaming.max_memory_ratio`.
    """
    settings = params["streaming"]
    (ir_loader,) = select_ensemble(
        exported_models, [model], str(settings["precision"])
    ).values()
    sample_rate = int(params["sample_rate"])
    with tempfile.TemporaryDirectory(prefix="streaming-") as staging:
        folder = Path(staging)
        source = decode_source_audio(test_soundscapes, sample_rate)
        files = {
            label: write_tiled_audio(
                source,
                60.0 * float(settings[f"{label}_minutes"]),
                folder / f"{label}",
                sample_rate,
                str(settings["audio_format"]),
            )
            for label in ("short", "long")
        }
        del source
        measured = {
            label: run_isolated(
                measure_streaming,
                StreamingCase(
                    runtime=f"openvino_{settings['precision']}",
                    ir_path=ir_loader.path,
                    audio_path=path,
                    threads=0,
                    batch_size=int(settings["batch_size"]),
                    sample_rate=sample_rate,
                    window_seconds=float(params["window_seconds"]),
                    precision_hint=str(params["precision_hint"]),
                ),
            )
            for label, path in files.items()
        }
    ratio = measured["long"]["peak_rss_bytes"] / measured["short"]["peak_rss_bytes"]
    within = ratio <= float(settings["max_memory_ratio"])
    log = logger.info if within else logger.warning
    log(
        "Streaming peak memory: %.0f MiB for %.0f min, %.0f MiB for %.0f min "
        "(ratio %.3f, limit %.2f)",
        measured["short"]["peak_rss_bytes"] / 2**20,
        settings["short_minutes"],
        measured["long"]["peak_rss_bytes"] / 2**20,
        settings["long_minutes"],
        ratio,
        settings["max_memory_ratio"],
    )
    return {
        "precision": settings["precision"],
        "short": measured["short"],
        "long": measured["long"],
        "memory_ratio": ratio,
        "max_memory_ratio": float(settings["max_memory_ratio"]),
        "within_limit": within,
    }


def benchmark_ensemble(
    exported_models: dict[str, dict[str, IRLoader]],
    test_soundscapes: dict[str, AudioFile],
    presets_table: dict[str, dict[str, Any]],
    params: dict,
) -> dict[str, Any]:
    """Time each ensemble member's IR on the soundscapes and project the ensemble.

    The ensemble decodes each file once and runs every member on each block, so
    its time is estimated as the members' mean decoding time plus the sum of
    their inference times, all with every core. Members with a test-time shift
    (`shift_seconds` in `presets_table`) run each window three times.

    Returns:
        Per-member timings, the ensemble's real-time factor and its projections.
    """
    settings = params["ensemble"]
    presets = parse_presets(settings["presets"], model="")
    loaders = select_ensemble(exported_models, presets, str(settings["precision"]))
    soundscapes = _soundscape_paths(test_soundscapes)
    members = []
    for preset, loader in loaders.items():
        shift_samples = member_shift_samples(
            preset, presets_table, int(params["sample_rate"])
        )
        case = _runtime_case(
            f"openvino_{settings['precision']}",
            loader.path,
            0,
            soundscapes,
            {},
            params,
            [int(settings["batch_size"])],
            shift_samples,
        )
        result = run_isolated(measure_runtime, case)
        (timing,) = result["batches"]
        members.append(
            {
                "preset": preset,
                "shift_samples": shift_samples,
                "decode_seconds": timing["decode_seconds"],
                "inference_seconds": timing["inference_seconds"],
                "real_time_factor": timing["real_time_factor"],
                "peak_rss_bytes": result["peak_rss_bytes"],
            }
        )
        logger.info(
            "Ensemble member %s: %.3f s inference for %.0f s of audio",
            preset,
            timing["inference_seconds"],
            timing["audio_seconds"],
        )
    audio_seconds = timing["audio_seconds"]
    decode_seconds = sum(row["decode_seconds"] for row in members) / len(members)
    inference_seconds = sum(row["inference_seconds"] for row in members)
    real_time_factor = (decode_seconds + inference_seconds) / audio_seconds
    return {
        "presets": list(loaders),
        "precision": settings["precision"],
        "batch_size": int(settings["batch_size"]),
        "threads": 0,
        "members": members,
        "audio_seconds": audio_seconds,
        "decode_seconds": decode_seconds,
        "inference_seconds": inference_seconds,
        "real_time_factor": real_time_factor,
        "projections": project_test_sets(
            real_time_factor,
            params["projection"]["test_sets"],
            params["projection"]["custom"],
        ),
    }


def write_benchmark_report(
    runtime_results: dict[str, list[dict[str, Any]]],
    streaming: dict[str, Any],
    ensemble: dict[str, Any],
    model: str,
    params: dict,
) -> tuple[dict[str, Any], Any]:
    """Collect the runtime table, projections, streaming memory and targets.

    Returns:
        The JSON report and its PNG figure.
    """
    machine = describe_machine()
    cores = int(machine["logical_cores"])
    rows = summarize_runtimes(runtime_results["cases"], cores)
    projection = params["projection"]
    for row in rows:
        row["projections"] = project_test_sets(
            row["real_time_factor"], projection["test_sets"], projection["custom"]
        )
    report = {
        "preset": model,
        "precision_hint": params["precision_hint"],
        "runtimes": rows,
        "ensemble": ensemble,
        "streaming": streaming,
        "targets": check_targets(rows, ensemble, cores, params["targets"]),
        "details": runtime_results["cases"],
        "machine": machine,
    }
    logger.info("Benchmark targets: %s", report["targets"])
    return report, plot_benchmark(rows, ensemble, model)
