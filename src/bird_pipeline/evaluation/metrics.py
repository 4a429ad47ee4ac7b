"""BirdCLEF metrics: padded cmAP (2023) and macro ROC-AUC (2024, 2025).

Padded cmAP adds `padding` rows of ones to both truth and prediction before the
macro average of per-class average precision, so classes with few or no
positives do not dominate the score. A perfect prediction scores 1.0. The
2024 and 2025 metric is the macro ROC-AUC over the classes that have at least
one positive window.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

PADDING_ROWS = 5  # BirdCLEF 2023 pads with five rows of ones


def check_finite_probs(
    probs: np.ndarray, window_ids: list[str], classes: list[str]
) -> None:
    """Raise when any probability is NaN or infinite, naming the first one.

    Args:
        probs: `(windows, classes)`.
        window_ids: One id per row, for example `<recording>_<end_second>`.
        classes: Class codes in column order.

    Raises:
        FloatingPointError: A value is not finite.
    """
    bad = np.argwhere(~np.isfinite(probs))
    if len(bad):
        row, column = bad[0]
        raise FloatingPointError(
            f"non-finite probability {probs[row, column]} for window "
            f"{window_ids[row]!r}, class {classes[column]!r} ({len(bad)} values in "
            f"all); check the input audio and the model for NaN"
        )


def _check_shapes(truth: np.ndarray, probs: np.ndarray) -> None:
    if truth.shape != probs.shape or truth.ndim != 2:
        raise ValueError(
            f"truth {truth.shape} and probs {probs.shape} must both be "
            f"(windows, classes)"
        )


def padded_cmap(
    truth: np.ndarray, probs: np.ndarray, padding: int = PADDING_ROWS
) -> float:
    """Return the padded class-mean average precision.

    Args:
        truth: `(windows, classes)` of 0 and 1.
        probs: `(windows, classes)` scores.
        padding: Rows of ones appended to both before scoring.
    """
    _check_shapes(truth, probs)
    ones = np.ones((padding, truth.shape[1]))
    padded_truth = np.concatenate([truth, ones]) > 0.5
    padded_probs = np.concatenate([probs, ones])
    return float(average_precision_score(padded_truth, padded_probs, average="macro"))


def per_class_average_precision(
    truth: np.ndarray, probs: np.ndarray, padding: int = PADDING_ROWS
) -> np.ndarray:
    """Return the padded average precision of each class, `(classes,)`."""
    _check_shapes(truth, probs)
    ones = np.ones((padding, truth.shape[1]))
    padded_truth = np.concatenate([truth, ones]) > 0.5
    padded_probs = np.concatenate([probs, ones])
    return np.asarray(
        average_precision_score(padded_truth, padded_probs, average=None), dtype=float
    )


def macro_roc_auc(truth: np.ndarray, probs: np.ndarray) -> float:
    """Return the macro ROC-AUC over classes with at least one positive window.

    A class whose every window is positive has no negative to rank and is left
    out as well, because its ROC-AUC is undefined.

    Returns:
        The score, or NaN when no class has both positive and negative windows.
    """
    _check_shapes(truth, probs)
    positives = truth.sum(axis=0)
    scored = (positives > 0) & (positives < len(truth))
    if not scored.any():
        return float("nan")
    return float(
        roc_auc_score(truth[:, scored] > 0.5, probs[:, scored], average="macro")
    )
