"""The benchmark report: one row per runtime and thread count, targets, plot."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or assumed

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

MIB = 2**20


def summarize_runtimes(results: list[dict[str, Any]], cores: int) -> list[dict]:
    """Reduce each (runtime, threads) result to its fastest batch size.

    `threads` 0 is reported as the machine's logical core count. `mel_seconds`
    is the PyTorch front end alone at the same thread count, part of every
    runtime's inference time.
    """
    mel = {
        result["threads"]: result["mel_seconds"]
        for result in results
        if "mel_seconds" in result
    }
    rows = []
    for result in results:
        best = min(result["batches"], key=lambda row: row["total_seconds"])
        rows.append(
            {
                "runtime": result["runtime"],
                "threads": result["threads"] or cores,
                "batch_size": best["batch_size"],
                "audio_seconds": best["audio_seconds"],
                "decode_seconds": best["decode_seconds"],
                "mel_seconds_pytorch": mel.get(result["threads"]),
                "inference_seconds": best["inference_seconds"],
                "total_seconds": best["total_seconds"],
                "real_time_factor": best["real_time_factor"],
                "speed_x_real_time": 1.0 / best["real_time_factor"],
                "latency_seconds": best["latency_seconds"],
                "peak_rss_mib": result["peak_rss_bytes"] / MIB,
                "rss_after_load_mib": result["rss_after_load_bytes"] / MIB,
                "load_seconds": result["load_seconds"],
                "real_time_factor_by_batch": {
                    str(row["batch_size"]): row["real_time_factor"]
                    for row in result["batches"]
                },
            }
        )
    return rows


def _row(rows: list[dict], runtime: str, threads: int) -> dict | None:
    return next(
        (
            row
            for row in rows
            if row["runtime"] == runtime and row["threads"] == threads
        ),
        None,
    )


def _speedup(
    rows: list[dict], slow: str, fast: str, threads: int, required: float
) -> dict[str, Any]:
    slow_row, fast_row = _row(rows, slow, threads), _row(rows, fast, threads)
    if slow_row is None or fast_row is None:
        return {"measured": False, "reason": f"{slow} or {fast} was not benchmarked"}
    speedup = slow_row["inference_seconds"] / fast_row["inference_seconds"]
    return {
        "measured": True,
        "threads": threads,
        "inference_speedup": speedup,
        "total_speedup": slow_row["total_seconds"] / fast_row["total_seconds"],
        "required": required,
        "met": speedup >= required,
    }


def check_targets(
    rows: list[dict], ensemble: dict[str, Any], cores: int, targets: dict
) -> dict[str, Any]:
    """Judge the speed targets; speedups compare inference time (mel included)."""
    test_set = str(targets["ensemble_test_set"])
    projected = ensemble["projections"][test_set]["projected_minutes"]
    return {
        "openvino_fp16_over_pytorch": _speedup(
            rows,
            "pytorch",
            "openvino_fp16",
            cores,
            float(targets["fp16_over_pytorch"]),
        ),
        "openvino_int8_over_fp32": _speedup(
            rows,
            "openvino_fp32",
            "openvino_int8",
            cores,
            float(targets["int8_over_fp32"]),
        ),
        "ensemble_projection": {
            "presets": ensemble["presets"],
            "test_set": test_set,
            "projected_minutes": projected,
            "required_minutes": float(targets["ensemble_minutes"]),
            "met": projected < float(targets["ensemble_minutes"]),
        },
    }


def plot_benchmark(rows: list[dict], ensemble: dict[str, Any], model: str) -> Figure:
    """Plot real-time factors (decoding and inference stacked) and projections."""
    figure, (speed_axis, projection_axis) = plt.subplots(1, 2, figsize=(13, 5))
    labels = [f"{row['runtime']}\n{row['threads']} thr" for row in rows]
    positions = range(len(rows))
    decode = [row["decode_seconds"] / row["audio_seconds"] for row in rows]
    inference = [row["inference_seconds"] / row["audio_seconds"] for row in rows]
    speed_axis.bar(positions, decode, label="decode", color="0.6")
    speed_axis.bar(positions, inference, bottom=decode, label="inference (mel incl.)")
    speed_axis.set_xticks(list(positions), labels, rotation=60, fontsize=7)
    speed_axis.set(
        title=f"{model}: real-time factor (lower is faster)",
        ylabel="processing s per audio s",
    )
    speed_axis.legend()

    names = list(ensemble["projections"])
    projected = [ensemble["projections"][name]["projected_minutes"] for name in names]
    budgets = [ensemble["projections"][name]["budget_minutes"] for name in names]
    projection_axis.bar(range(len(names)), projected, label="projected")
    projection_axis.scatter(
        range(len(names)), budgets, color="red", marker="_", s=600, label="budget"
    )
    projection_axis.set_xticks(range(len(names)), names, fontsize=8)
    projection_axis.set_title(
        f"ensemble {' + '.join(ensemble['presets'])} ({ensemble['precision']})",
        fontsize=8,
        wrap=True,
    )
    projection_axis.set_ylabel("minutes")
    projection_axis.legend()
    figure.tight_layout()
    return figure
