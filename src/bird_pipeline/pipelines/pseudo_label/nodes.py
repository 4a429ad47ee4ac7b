"""Nodes of the `pseudo_label` pipeline."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import torch

from bird_pipeline.audio.decode import check_samples, to_mono_at_rate
from bird_pipeline.audio.windows import split_shifted_windows
from bird_pipeline.evaluation import check_finite_probs
from bird_pipeline.evaluation.windows import recording_windows
from bird_pipeline.training.checkpoint import model_from_checkpoint
from bird_pipeline.training.validation import (
    ValidationSet,
    make_loaders,
    predict_probs,
    window_probs,
)

logger = logging.getLogger(__name__)


def _window_table(
    ids: list[str],
    source: str,
    starts_seconds: np.ndarray,
    probs: np.ndarray,
    classes: list[str],
) -> pd.DataFrame:
    table = pd.DataFrame(probs, columns=classes)
    windows = pd.Series(ids).groupby(ids).cumcount().to_numpy()
    table.insert(0, "start_second", starts_seconds)
    table.insert(0, "window", windows)
    table.insert(0, "source", source)
    table.insert(0, "recording_id", ids)
    return table


def _batched_probs(
    model: torch.nn.Module, windows: np.ndarray, batch_size: int
) -> np.ndarray:
    """Return probabilities for `(windows, shifts, samples)`, averaged over shifts."""
    with torch.inference_mode():
        batches = [
            window_probs(model, torch.from_numpy(windows[start : start + batch_size]))
            for start in range(0, len(windows), batch_size)
        ]
    return torch.cat(batches).numpy()


def predict_training_windows(
    checkpoint: dict[str, Any],
    recordings: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    test_soundscapes: dict[str, Callable[[], tuple[np.ndarray, int]]],
    params: dict[str, Any],
) -> pd.DataFrame:
    """Predict every 5 s window of every training recording and test soundscape.

    Args:
        checkpoint: The model that labels the windows (the finetuned one).
        recordings: Decoded recordings table.
        audio_cache: Waveforms keyed by recording id.
        test_soundscapes: Loaders of unlabelled soundscapes; may be empty.
        params: `pseudo_label` parameters: `batch_size` and
            `include_soundscapes`.

    Returns:
        One row per window: `recording_id` (soundscape id for soundscapes),
        `source` (`recording` or `soundscape`), `window`, `start_second` and a
        probability per class of the checkpoint.
    """
    model = model_from_checkpoint(checkpoint).eval()
    preset = model.preset
    classes = list(checkpoint["classes"])
    window_seconds = preset.segment_seconds

    windows = recording_windows(
        recordings,
        np.zeros((len(recordings), len(classes)), np.float32),
        math.inf,
        window_seconds,
        preset.sample_rate,
    )
    loader = make_loaders(
        [ValidationSet("pseudo", windows, audio_cache)],
        preset.segment_samples,
        int(params["batch_size"]),
        preset.shift_samples,
    )[0]
    probs = predict_probs(model, loader)
    check_finite_probs(probs, windows.window_ids, classes)
    tables = [
        _window_table(
            windows.sources,
            "recording",
            windows.starts / preset.sample_rate,
            probs,
            classes,
        )
    ]

    soundscapes = test_soundscapes if params["include_soundscapes"] else {}
    for name, load in soundscapes.items():
        samples, source_rate = load()
        check_samples(samples, f"soundscape {name!r}")
        waveform = to_mono_at_rate(samples, source_rate, preset.sample_rate)
        shifted = split_shifted_windows(
            waveform, preset.segment_samples, preset.shift_samples
        )
        soundscape_probs = _batched_probs(model, shifted, int(params["batch_size"]))
        soundscape_id = PurePosixPath(name).stem
        starts = np.arange(len(shifted)) * window_seconds
        tables.append(
            _window_table(
                [soundscape_id] * len(starts),
                "soundscape",
                starts,
                soundscape_probs,
                classes,
            )
        )
    table = pd.concat(tables, ignore_index=True)
    logger.info(
        "Predicted %d windows of %d recordings and %d soundscapes for pseudo-labels",
        len(table),
        len(recordings),
        len(soundscapes),
    )
    return table


def apply_hand_labels(
    predictions: pd.DataFrame, hand_labels: pd.DataFrame
) -> pd.DataFrame:
    """Replace predictions with hand labels where a file gives them.

    Args:
        predictions: Output of `predict_training_windows`.
        hand_labels: Optional table with `recording_id`, `start_second` and
            `labels` (space-separated class codes heard in that 5 s window;
            empty for none). Matching windows get 1.0 for the listed classes
            and 0.0 for every other class.

    Raises:
        ValueError: The table lacks a column, or names a window or class that
            the predictions do not have.
    """
    if hand_labels.empty:
        return predictions
    required = {"recording_id", "start_second", "labels"}
    missing = sorted(required - set(hand_labels.columns))
    if missing:
        raise ValueError(
            f"hand_labels.csv lacks columns {missing}; expected recording_id, "
            f"start_second, labels"
        )
    class_columns = [
        column
        for column in predictions.columns
        if column not in ("recording_id", "source", "window", "start_second")
    ]
    out = predictions.copy()
    keys = pd.MultiIndex.from_arrays(
        [out["recording_id"].astype(str), out["start_second"].astype(float).round(3)]
    )
    position = {key: row for row, key in enumerate(keys)}
    for recording_id, start, labels in zip(
        hand_labels["recording_id"].astype(str),
        hand_labels["start_second"].astype(float).round(3),
        hand_labels["labels"].fillna("").astype(str),
        strict=True,
    ):
        row = position.get((recording_id, start))
        if row is None:
            raise ValueError(
                f"hand_labels.csv names window {recording_id!r} at {start} s, which "
                f"has no prediction; start_second must be a multiple of the window"
            )
        codes = labels.split()
        unknown = sorted(set(codes) - set(class_columns))
        if unknown:
            raise ValueError(
                f"hand_labels.csv: {recording_id!r} at {start} s lists classes "
                f"{unknown} that the model does not predict"
            )
        out.loc[out.index[row], class_columns] = [
            1.0 if code in codes else 0.0 for code in class_columns
        ]
    logger.info("Hand labels replaced the predictions of %d windows", len(hand_labels))
    return out


def class_thresholds(
    pseudo_labels: pd.DataFrame, recordings: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Compute each class's threshold: a quantile of its own recordings' windows.

    Args:
        pseudo_labels: Window predictions after hand labels.
        recordings: Decoded recordings table (`recording_id`, `primary_label`).
        params: `pseudo_label` parameters: `threshold_quantile` in [0, 1].

    Returns:
        Columns `class`, `threshold` and `windows` (how many windows it came
        from). A class without recordings of its own gets no row, and its
        targets are then not scaled in `factor` mode.
    """
    quantile = float(params["threshold_quantile"])
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(
            f"pseudo_label.threshold_quantile must be in [0, 1], got {quantile}"
        )
    recording_rows = pseudo_labels[pseudo_labels["source"] == "recording"]
    primary = recordings.set_index("recording_id")["primary_label"]
    labels = recording_rows["recording_id"].map(primary)
    rows = []
    for code in [c for c in pseudo_labels.columns if c in set(primary)]:
        own = recording_rows.loc[labels == code, code].to_numpy(dtype=float)
        if len(own):
            rows.append(
                {
                    "class": code,
                    "threshold": float(np.quantile(own, quantile)),
                    "windows": len(own),
                }
            )
    logger.info("Pseudo-label thresholds for %d classes", len(rows))
    return pd.DataFrame(rows, columns=["class", "threshold", "windows"])
