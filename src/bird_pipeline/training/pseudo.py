"""Pseudo-labels: scale each training crop's targets by a model's window predictions.

A focal recording carries its labels for its whole length, but the bird may be
silent in parts of it. The `pseudo_label` pipeline predicts every 5 s window
of every training recording with a trained model. A training crop then looks
up the windows it covers and keeps its labels where the model heard the bird.

Two modes, for the classes a recording is labelled with (targets above 0):

- `factor`: the target is multiplied by `min(1, p / threshold)`, where `p` is
  the largest prediction over the covered windows and `threshold` a per-class
  quantile of the predictions on that class's own recordings. A window
  predicted at or above its class threshold keeps its full label.
- `soft`: the target is multiplied by `p` itself.

Both are bounded below by `min_factor`, so no labelled crop drops to 0. Classes
without a label are never raised. A crop that covers a whole recording keeps
its targets, because the label is certain to apply to it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bird_pipeline.training.config import PSEUDO_MODES

logger = logging.getLogger(__name__)

KEY_COLUMNS = ("recording_id", "source", "window", "start_second")


@dataclass(frozen=True)
class PseudoLabels:
    """Window predictions of the training recordings, in stage class order."""

    probs: dict[str, np.ndarray]  # recording id -> (windows, classes)
    thresholds: np.ndarray  # (classes,); NaN where a class has no threshold
    known: np.ndarray  # (classes,) bool: the predictions cover this class
    window_samples: int
    mode: str
    min_factor: float

    def adjust(
        self, recording_id: str, targets: np.ndarray, start: int, clip_samples: int
    ) -> np.ndarray:
        """Return the targets of the crop `[start, start + clip_samples)`."""
        windows = self.probs.get(recording_id)
        if windows is None:
            return targets
        first = start // self.window_samples
        last = max(first + 1, math.ceil((start + clip_samples) / self.window_samples))
        covered = windows[first:last]
        if not len(covered):
            return targets
        peak_probs = covered.max(axis=0)  # (classes,)
        if self.mode == "factor":
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = peak_probs / self.thresholds
            factor = np.where(np.isfinite(factor), factor, 1.0)
        else:
            factor = peak_probs
        factor = np.clip(factor, self.min_factor, 1.0)
        factor = np.where(self.known & (targets > 0), factor, 1.0)
        return (targets * factor).astype(np.float32)


def build_pseudo_labels(
    predictions: pd.DataFrame,
    thresholds: pd.DataFrame,
    classes: list[str],
    window_samples: int,
    mode: str,
    min_factor: float,
) -> PseudoLabels:
    """Index the `pseudo_label` pipeline's tables for the training loader.

    Args:
        predictions: One row per window: `recording_id`, `source`, `window`,
            `start_second` and one probability column per class the model
            predicts. Soundscape rows (`source` other than `recording`) are
            not used for crops.
        thresholds: Columns `class` and `threshold`.
        classes: The stage's classes; classes the model does not predict keep
            their targets.
        window_samples: Samples per prediction window.
        mode: `factor` or `soft`.
        min_factor: Lowest factor a labelled target is multiplied by, in (0, 1].

    Raises:
        ValueError: The tables are empty or malformed, or a setting is invalid.
    """
    if mode not in PSEUDO_MODES:
        raise ValueError(
            f"pseudo_mode {mode!r} is unknown; choose one of {PSEUDO_MODES}"
        )
    if not 0.0 < min_factor <= 1.0:
        raise ValueError(f"pseudo_min_factor must be in (0, 1], got {min_factor}")
    if predictions.empty:
        raise ValueError(
            "use_pseudo is on but pseudo_labels is empty or missing; run "
            "`kedro run --pipelines pseudo_label` after training a model first"
        )
    missing = [column for column in KEY_COLUMNS if column not in predictions.columns]
    if missing:
        raise ValueError(
            f"pseudo_labels lacks columns {missing}; run pseudo_label again"
        )

    known = np.array([code in predictions.columns for code in classes])
    columns = [code for code in classes if code in predictions.columns]
    values = predictions[columns].to_numpy(dtype=np.float32)
    if not np.isfinite(values).all():
        raise ValueError("pseudo_labels contains NaN or infinite predictions")
    full = np.ones((len(predictions), len(classes)), dtype=np.float32)
    full[:, known] = values

    rows = predictions["source"].astype(str).to_numpy() == "recording"
    table = predictions.loc[rows, ["recording_id", "window"]].assign(
        row=np.flatnonzero(rows)
    )
    probs = {
        str(recording_id): full[group.sort_values("window")["row"].to_numpy()]
        for recording_id, group in table.groupby("recording_id", sort=False)
    }
    by_class = dict(
        zip(thresholds.get("class", []), thresholds.get("threshold", []), strict=True)
    )
    threshold_values = np.array(
        [float(by_class.get(code, np.nan)) for code in classes], dtype=np.float32
    )
    logger.info(
        "Pseudo-labels (%s mode): %d recordings, %d of %d classes predicted",
        mode,
        len(probs),
        int(known.sum()),
        len(classes),
    )
    return PseudoLabels(
        probs, threshold_values, known, window_samples, mode, float(min_factor)
    )
