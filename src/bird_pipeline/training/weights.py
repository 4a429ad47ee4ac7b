"""Sampling weights and loss weights of training recordings.

Sampling: each recording is drawn with weight 1 / count of its class, where a
primary label counts 1 and a secondary label 0.5 towards its class count, so
rare classes are seen about as often as common ones. A recording whose primary
label is outside the stage's classes takes the mean weight of its in-class
secondary labels.

Loss: the xeno-canto rating (0 to 5) scaled to [min_rating_weight, 1], times
`non_target_weight` for recordings whose primary label is not a stage class.
BirdCLEF writes 0.0 for "unrated", so a rating of 0 or a missing rating takes
`unrated_weight` instead of the lowest weight.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

MAX_RATING = 5.0
SECONDARY_COUNT = 0.5  # how much a secondary label adds to its class count


def check_weights(weights: np.ndarray, name: str) -> None:
    """Raise when weights are empty, negative, non-finite or all zero."""
    if len(weights) == 0:
        raise ValueError(f"{name}: no weights; the stage has no training recordings")
    if not np.isfinite(weights).all():
        raise ValueError(
            f"{name}: {int((~np.isfinite(weights)).sum())} weights are NaN or infinite"
        )
    if (weights < 0).any():
        raise ValueError(f"{name}: weights must not be negative, found {weights.min()}")
    if not (weights > 0).any():
        raise ValueError(f"{name}: every weight is zero, so nothing can be sampled")


def sampling_weights(recordings: pd.DataFrame, classes: list[str]) -> np.ndarray:
    """Return the sampling weight of each recording, `(recordings,)`.

    Raises:
        ValueError: The weights are unusable (see `check_weights`); a recording
            with no label in `classes` has weight 0.
    """
    in_class = set(classes)
    counts: Counter[str] = Counter()
    for primary, secondary in zip(
        recordings["primary_label"], recordings["secondary_labels"], strict=True
    ):
        counts[primary] += 1.0
        for code in secondary.split():
            counts[code] += SECONDARY_COUNT

    weights = np.zeros(len(recordings), dtype=np.float64)
    for row, (primary, secondary) in enumerate(
        zip(recordings["primary_label"], recordings["secondary_labels"], strict=True)
    ):
        if primary in in_class:
            weights[row] = 1.0 / counts[primary]
            continue
        secondary_in_class = [code for code in secondary.split() if code in in_class]
        if secondary_in_class:
            weights[row] = float(
                np.mean([1.0 / counts[code] for code in secondary_in_class])
            )
    check_weights(weights, "sampling weights")
    return weights


def loss_weights(
    recordings: pd.DataFrame,
    classes: list[str],
    min_rating_weight: float,
    unrated_weight: float,
    non_target_weight: float,
) -> np.ndarray:
    """Return the loss weight of each recording, `(recordings,)`, all finite.

    Args:
        recordings: Table with `primary_label` and `rating` (float, 0 = unrated).
        classes: The stage's classes.
        min_rating_weight: Weight of a rating just above 0 (0.1 in the reference).
        unrated_weight: Weight of a rating of 0 or a missing rating.
        non_target_weight: Factor for recordings whose primary label is not a
            stage class (0.8 in the reference).
    """
    ratings = pd.to_numeric(recordings["rating"], errors="coerce").to_numpy(dtype=float)
    unrated = ~np.isfinite(ratings) | (ratings <= 0)
    scaled = np.clip(np.nan_to_num(ratings) / MAX_RATING, min_rating_weight, 1.0)
    weights = np.where(unrated, unrated_weight, scaled)
    non_target = ~recordings["primary_label"].isin(set(classes)).to_numpy()
    weights = weights * np.where(non_target, non_target_weight, 1.0)
    check_weights(weights, "loss weights")
    return weights.astype(np.float32)
