"""Nodes of the `evaluate` pipeline."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bird_pipeline.evaluation.folds import split_by_fold
from bird_pipeline.training.checkpoint import model_from_checkpoint
from bird_pipeline.training.data import build_targets
from bird_pipeline.training.validation import (
    ValidationConfig,
    build_validation_sets,
    make_loaders,
    predict_probs,
    score_windows,
)

logger = logging.getLogger(__name__)


def score_checkpoint(
    checkpoint: dict[str, Any],
    recordings: pd.DataFrame,
    folds: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    soundscape_audio: Mapping[str, np.ndarray],
    soundscape_labels: pd.DataFrame,
    validation: ValidationConfig,
) -> dict[str, float]:
    """Score one checkpoint on the held-out fold and the labelled soundscapes.

    Returns:
        `val_cmap`, `val_roc_auc`, `soundscape_cmap` and `soundscape_roc_auc`
        for the sets the data has. ROC-AUC is None when no class has both
        positive and negative windows (JSON has no NaN).
    """
    model = model_from_checkpoint(checkpoint)
    preset = model.preset
    classes = list(checkpoint["classes"])
    _, held_out = split_by_fold(recordings, folds, validation.fold)
    truth = (build_targets(held_out, classes, 1.0) > 0).astype(np.float32)
    sets = build_validation_sets(
        held_out,
        truth,
        audio_cache,
        soundscape_audio,
        soundscape_labels,
        classes,
        validation,
        preset.sample_rate,
    )
    loaders = make_loaders(
        sets, preset.segment_samples, validation.batch_size, preset.shift_samples
    )
    scores: dict[str, float] = {}
    for validation_set, loader in zip(sets, loaders, strict=True):
        probs = predict_probs(model, loader)
        result = score_windows(
            validation_set.name, validation_set.windows, probs, classes
        )
        result.pop(f"{validation_set.name}_class_ap")
        scores.update(
            {
                name: None if math.isnan(value) else float(value)
                for name, value in result.items()
            }
        )
    return scores


def evaluate_checkpoints(
    train_bce_checkpoint: dict[str, Any],
    finetune_checkpoint: dict[str, Any],
    recordings: pd.DataFrame,
    folds: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    soundscape_audio: Mapping[str, np.ndarray],
    soundscape_labels: pd.DataFrame,
    validation_params: dict[str, Any],
) -> dict[str, Any]:
    """Score the checkpoints that `train_bce` and `finetune` passed on.

    The held-out fold is `validation.fold` even when `validation.reference` is
    on. The reference trains on every recording, so its held-out scores are
    then scores on training data, which the report flags. The soundscape
    scores stay a fair comparison because soundscapes are never trained on.
    """
    validation = ValidationConfig(**validation_params)
    report: dict[str, Any] = {
        "fold": validation.fold,
        "held_out_in_training": validation.reference,
        "preset": finetune_checkpoint["preset"]["name"],
    }
    for checkpoint in (train_bce_checkpoint, finetune_checkpoint):
        scores = score_checkpoint(
            checkpoint,
            recordings,
            folds,
            audio_cache,
            soundscape_audio,
            soundscape_labels,
            validation,
        )
        report[checkpoint["stage"]] = scores
        logger.info("Evaluated %s: %s", checkpoint["stage"], scores)
    return report
