"""Per-operation time of a compiled OpenVINO model, grouped by layer and kernel type.

Run `python -m bird_pipeline.inference.profile MODEL.xml [MODEL.xml ...]` to see
where inference time goes, for example whether INT8 kernels replaced the FP32
convolutions and how much time stays in the unquantised mel front end.
"""

from __future__ import annotations

import argparse
import logging
from collections import defaultdict
from typing import Any

import numpy as np

from bird_pipeline.inference.runtime import compile_openvino

logger = logging.getLogger(__name__)


def profile_openvino(
    model: Any, windows: np.ndarray, threads: int, precision_hint: str, runs: int
) -> dict[str, Any]:
    """Run a model with per-operation counters and sum real time by category.

    Args:
        model: An `openvino.Model`.
        windows: One batch `(batch, samples)`.
        threads: Inference threads; 0 uses every core.
        precision_hint: OpenVINO CPU precision.
        runs: Timed runs after one warm-up run; the times are averaged.

    Returns:
        `total_ms` per run, and `by_layer_type`, `by_exec_type` and
        `frontend_ms` (operations under `__module.frontend`), in ms per run.
    """
    compiled = compile_openvino(
        model, threads, precision_hint, extra_config={"PERF_COUNT": True}
    )
    request = compiled.create_infer_request()
    request.infer({0: windows})
    by_layer: dict[str, float] = defaultdict(float)
    by_exec: dict[str, float] = defaultdict(float)
    frontend = 0.0
    for _ in range(runs):
        request.infer({0: windows})
        for info in request.get_profiling_info():
            milliseconds = info.real_time.total_seconds() * 1000 / runs
            by_layer[info.node_type] += milliseconds
            by_exec[info.exec_type] += milliseconds
            if info.node_name.startswith("__module.frontend"):
                frontend += milliseconds
    return {
        "total_ms": sum(by_layer.values()),
        "frontend_ms": frontend,
        "by_layer_type": dict(sorted(by_layer.items(), key=lambda item: -item[1])),
        "by_exec_type": dict(sorted(by_exec.items(), key=lambda item: -item[1])),
    }


def main() -> None:
    """Print the profile of each IR on one batch of noise windows."""
    import openvino as ov

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="IR .xml files")
    parser.add_argument("--batch", type=int, default=16, help="windows per batch")
    parser.add_argument("--threads", type=int, default=0, help="0 uses every core")
    parser.add_argument("--runs", type=int, default=5, help="timed runs")
    parser.add_argument("--samples", type=int, default=160000, help="per window")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rng = np.random.default_rng(0)
    windows = (0.1 * rng.standard_normal((arguments.batch, arguments.samples))).astype(
        np.float32
    )
    for path in arguments.models:
        profile = profile_openvino(
            ov.Core().read_model(path),
            windows,
            arguments.threads,
            "f32",
            arguments.runs,
        )
        logger.info(
            "%s: %.1f ms per batch of %d, mel front end %.1f ms",
            path,
            profile["total_ms"],
            arguments.batch,
            profile["frontend_ms"],
        )
        for key in ("by_layer_type", "by_exec_type"):
            top = list(profile[key].items())[:8]
            logger.info(
                "  %s: %s", key, ", ".join(f"{name} {ms:.1f}" for name, ms in top)
            )


if __name__ == "__main__":
    main()
