"""Windows for INT8 quantisation: calibration from training recordings, and the
validation windows that judge the quantised model."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bird_pipeline.evaluation.windows import WindowDataset, WindowSet, recording_windows
from bird_pipeline.training.data import build_targets

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ValidationWindows:
    """Labelled windows that score the FP32 and INT8 models."""

    windows: np.ndarray  # (windows, window_samples) float32
    truth: np.ndarray  # (windows, classes) of 0 and 1
    source: str  # where the windows come from, for the export report


def _split_by_fold(
    recordings: pd.DataFrame, folds: pd.DataFrame, validation: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (training recordings, held-out recordings) as the stages split them."""
    if validation.get("reference", False) or folds.empty:
        return recordings, recordings.iloc[0:0]
    fold = recordings["recording_id"].map(folds.set_index("recording_id")["fold"])
    held_out = fold == int(validation["fold"])
    return recordings[~held_out], recordings[held_out]


def _read_windows(
    window_set: WindowSet, audio_cache: Mapping[str, np.ndarray], window_samples: int
) -> np.ndarray:
    dataset = WindowDataset(window_set, audio_cache, window_samples)
    return np.stack([dataset[index][0].numpy() for index in range(len(dataset))])


def _sample(window_set: WindowSet, max_windows: int, seed: int) -> WindowSet:
    """Draw at most `max_windows` windows without replacement, in their order."""
    if len(window_set) <= max_windows:
        return window_set
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(window_set), size=max_windows, replace=False))
    return WindowSet(
        [window_set.window_ids[index] for index in chosen],
        [window_set.sources[index] for index in chosen],
        window_set.starts[chosen],
        window_set.truth[chosen],
    )


def _recording_window_set(
    recordings: pd.DataFrame, classes: list[str], params: dict, max_seconds: float
) -> WindowSet:
    truth = (build_targets(recordings, classes, 1.0) > 0).astype(np.float32)
    return recording_windows(
        recordings,
        truth,
        max_seconds,
        float(params["window_seconds"]),
        int(params["sample_rate"]),
    )


def select_calibration_windows(
    recordings: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    folds: pd.DataFrame,
    checkpoint: dict[str, Any],
    params: dict,
    validation: dict,
) -> np.ndarray:
    """Draw INT8 calibration windows from the training recordings.

    Args:
        recordings: Decoded recordings table.
        audio_cache: Waveforms keyed by recording id.
        folds: `recording_id` and `fold`; the held-out fold is left out.
        checkpoint: The exported checkpoint (for its class list).
        params: `export` parameters: `sample_rate`, `window_seconds` and
            `int8.calibration_windows`, `int8.max_seconds`, `int8.seed`.
        validation: `validation` parameters: `fold` and `reference`.

    Returns:
        `(windows, window_samples)` float32, at most `int8.calibration_windows`.

    Raises:
        ValueError: No training recordings are left.
    """
    settings = params["int8"]
    train, _ = _split_by_fold(recordings, folds, validation)
    if train.empty:
        raise ValueError(
            "no training recordings for INT8 calibration; run preprocess first"
        )
    window_set = _recording_window_set(
        train, list(checkpoint["classes"]), params, float(settings["max_seconds"])
    )
    window_set = _sample(
        window_set, int(settings["calibration_windows"]), int(settings["seed"])
    )
    window_samples = round(params["window_seconds"] * params["sample_rate"])
    logger.info(
        "INT8 calibration: %d windows from %d training recordings",
        len(window_set),
        len(set(window_set.sources)),
    )
    return _read_windows(window_set, audio_cache, window_samples)


def select_validation_windows(
    recordings: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    folds: pd.DataFrame,
    checkpoint: dict[str, Any],
    params: dict,
    validation: dict,
) -> ValidationWindows:
    """Take the labelled windows that judge the INT8 model.

    The windows are those of the held-out fold, as the stages validate. With no
    held-out recordings (`validation.reference: true`, or an empty fold) the
    windows come from the training recordings instead, which overlap the
    calibration windows. `source` records that, because such a score is
    optimistic.

    Returns:
        At most `int8.validation_windows` windows with their labels and source.
    """
    settings = params["int8"]
    train, held_out = _split_by_fold(recordings, folds, validation)
    if held_out.empty:
        logger.warning(
            "No held-out recordings (validation.reference or an empty fold %s); the "
            "INT8 gate scores training recordings, which overlap the calibration set",
            validation.get("fold"),
        )
        chosen, source = train, "training recordings (no held-out fold)"
    else:
        chosen, source = held_out, f"held-out fold {int(validation['fold'])}"
    window_set = _recording_window_set(
        chosen, list(checkpoint["classes"]), params, float(settings["max_seconds"])
    )
    window_set = _sample(
        window_set, int(settings["validation_windows"]), int(settings["seed"]) + 1
    )
    window_samples = round(params["window_seconds"] * params["sample_rate"])
    logger.info("INT8 validation: %d windows from %s", len(window_set), source)
    return ValidationWindows(
        _read_windows(window_set, audio_cache, window_samples),
        window_set.truth,
        source,
    )
