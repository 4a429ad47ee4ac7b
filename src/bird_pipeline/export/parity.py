"""Compare an exported model's probabilities with PyTorch's."""

from __future__ import annotations

import numpy as np


class ParityError(RuntimeError):
    """An exported model drifts from PyTorch beyond its tolerance."""


def check_parity(
    runtime: str, reference_logits: np.ndarray, runtime_logits: np.ndarray, atol: float
) -> dict[str, float | str]:
    """Compare sigmoid probabilities of a runtime against PyTorch.

    Args:
        runtime: Name for the report and the error, e.g. `onnxruntime`.
        reference_logits: PyTorch logits `(windows, classes)`.
        runtime_logits: The runtime's logits, same shape.
        atol: Largest absolute probability difference allowed.

    Returns:
        `{"runtime", "max_abs_prob_diff", "max_abs_logit_diff", "atol"}`.

    Raises:
        ParityError: Shapes differ, outputs are not finite, or the difference
            exceeds `atol`.
    """
    if reference_logits.shape != runtime_logits.shape:
        raise ParityError(
            f"{runtime} returns shape {runtime_logits.shape}, "
            f"PyTorch {reference_logits.shape}"
        )
    if not np.isfinite(runtime_logits).all():
        raise ParityError(f"{runtime} returns non-finite logits")
    reference_probs = 1.0 / (1.0 + np.exp(-reference_logits.astype(np.float64)))
    runtime_probs = 1.0 / (1.0 + np.exp(-runtime_logits.astype(np.float64)))
    prob_diff = float(np.abs(reference_probs - runtime_probs).max())
    logit_diff = float(np.abs(reference_logits - runtime_logits).max())
    if prob_diff > atol:
        raise ParityError(
            f"{runtime} probabilities differ from PyTorch by up to {prob_diff:.2e}, "
            f"above the tolerance {atol:.1e} (export.parity_atol); the export is not "
            f"trustworthy, so no file was written"
        )
    return {
        "runtime": runtime,
        "max_abs_prob_diff": prob_diff,
        "max_abs_logit_diff": logit_diff,
        "atol": atol,
    }


def check_metric_drop(
    runtime: str, reference_score: float, runtime_score: float, max_drop: float
) -> dict[str, float | str]:
    """Compare a validation metric of a runtime with the reference model's.

    Args:
        runtime: Name for the report and the error, e.g. `openvino_int8`.
        reference_score: Padded cmAP of the FP32 model on the validation windows.
        runtime_score: Padded cmAP of the runtime on the same windows.
        max_drop: Largest drop allowed (`reference_score - runtime_score`).

    Returns:
        `{"runtime", "reference_cmap", "cmap", "cmap_drop", "max_cmap_drop"}`.

    Raises:
        ParityError: A score is not finite, or the drop exceeds `max_drop`.
    """
    if not (np.isfinite(reference_score) and np.isfinite(runtime_score)):
        raise ParityError(
            f"{runtime} validation scores are not finite (reference "
            f"{reference_score}, {runtime} {runtime_score}); check the validation "
            f"windows and their labels"
        )
    drop = reference_score - runtime_score
    if drop > max_drop:
        raise ParityError(
            f"{runtime} padded cmAP {runtime_score:.4f} is {drop:.4f} below the FP32 "
            f"model's {reference_score:.4f}, more than the allowed "
            f"{max_drop:.4f} (export.int8.max_cmap_drop); no file was written. "
            f"Calibrate on more windows (export.int8.calibration_windows), or raise "
            f"export.int8.max_cmap_drop if this drop is acceptable"
        )
    return {
        "runtime": runtime,
        "reference_cmap": reference_score,
        "cmap": runtime_score,
        "cmap_drop": drop,
        "max_cmap_drop": max_drop,
    }
