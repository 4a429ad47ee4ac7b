"""Validation during a stage: the window sets, their scoring and the best weights."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader

from bird_pipeline.evaluation import (
    check_finite_probs,
    macro_roc_auc,
    padded_cmap,
    per_class_average_precision,
)
from bird_pipeline.evaluation.windows import (
    WindowDataset,
    WindowSet,
    recording_windows,
    soundscape_windows,
)

logger = logging.getLogger(__name__)

MONITORS = ("val_cmap", "val_roc_auc", "soundscape_cmap", "soundscape_roc_auc")


@dataclass(frozen=True)
class ValidationConfig:
    """Settings of the validation run inside every stage."""

    reference: bool  # reproduce the reference recipe: no validation, last checkpoint
    n_folds: int
    fold: int  # the held-out fold
    seed: int  # seed of the fold split
    max_seconds: float  # seconds of each held-out recording that are scored
    window_seconds: float
    batch_size: int
    monitor: str  # metric that picks the best checkpoint, higher is better
    next_checkpoint: str  # "best" or "last": what the next stage starts from

    def __post_init__(self) -> None:
        if self.monitor not in MONITORS:
            raise ValueError(
                f"validation.monitor {self.monitor!r} is unknown; "
                f"choose one of {MONITORS}"
            )
        if self.next_checkpoint not in ("best", "last"):
            raise ValueError(
                f"validation.next_checkpoint must be 'best' or 'last', "
                f"got {self.next_checkpoint!r}"
            )
        if not 0 <= self.fold < self.n_folds:
            raise ValueError(
                f"validation.fold={self.fold} is outside 0..{self.n_folds - 1}"
            )


@dataclass(frozen=True)
class ValidationSet:
    """Named windows with the audio they are read from."""

    name: str  # "val" (held-out recordings) or "soundscape"
    windows: WindowSet
    audio: Mapping[str, np.ndarray]


def build_validation_sets(
    held_out: pd.DataFrame,
    truth: np.ndarray,
    audio_cache: Mapping[str, np.ndarray],
    soundscape_audio: Mapping[str, np.ndarray],
    soundscape_labels: pd.DataFrame,
    classes: list[str],
    config: ValidationConfig,
    sample_rate: int,
) -> list[ValidationSet]:
    """Build the held-out recording windows and, when labelled, the soundscapes."""
    sets = []
    if len(held_out):
        windows = recording_windows(
            held_out, truth, config.max_seconds, config.window_seconds, sample_rate
        )
        sets.append(ValidationSet("val", windows, audio_cache))
    if len(soundscape_labels) and len(soundscape_audio):
        known = soundscape_labels[
            soundscape_labels["soundscape_id"].isin(soundscape_audio)
        ]
        windows = soundscape_windows(known, classes, sample_rate)
        sets.append(ValidationSet("soundscape", windows, soundscape_audio))
    for validation_set in sets:
        logger.info(
            "Validation set %s: %d windows",
            validation_set.name,
            len(validation_set.windows),
        )
    return sets


def make_loaders(
    sets: list[ValidationSet],
    window_samples: int,
    batch_size: int,
    shift_samples: int = 0,
) -> list[DataLoader]:
    """Return one ordered DataLoader per validation set.

    With `shift_samples` > 0 each item carries the window and its two shifted
    copies, and validation averages their probabilities.
    """
    return [
        DataLoader(
            WindowDataset(
                validation_set.windows,
                validation_set.audio,
                window_samples,
                shift_samples,
            ),
            batch_size=batch_size,
            shuffle=False,
        )
        for validation_set in sets
    ]


def score_windows(
    name: str, windows: WindowSet, probs: np.ndarray, classes: list[str]
) -> dict[str, Any]:
    """Score one validation set; the probabilities are checked finite first.

    Returns:
        `{name}_cmap`, `{name}_roc_auc` (NaN when no class has both positive and
        negative windows) and `{name}_class_ap` (padded AP per class).
    """
    check_finite_probs(probs, windows.window_ids, classes)
    class_ap = per_class_average_precision(windows.truth, probs)
    return {
        f"{name}_cmap": padded_cmap(windows.truth, probs),
        f"{name}_roc_auc": macro_roc_auc(windows.truth, probs),
        f"{name}_class_ap": dict(zip(classes, class_ap.tolist(), strict=True)),
    }


class BestWeights(Callback):
    """Keep a CPU copy of the weights with the highest `monitor` value."""

    def __init__(self, monitor: str) -> None:
        self.monitor = monitor
        self.best_score: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, torch.Tensor] | None = None

    def on_validation_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule
    ) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        score = float(trainer.callback_metrics[self.monitor])
        if np.isnan(score) or (
            self.best_score is not None and score <= self.best_score
        ):
            return
        self.best_score = score
        self.best_epoch = trainer.current_epoch
        self.best_state = copy.deepcopy(
            {
                key: value.detach().cpu()
                for key, value in pl_module.model.state_dict().items()
            }
        )

    def state_dict(self) -> dict[str, Any]:
        return {
            "best_score": self.best_score,
            "best_epoch": self.best_epoch,
            "best_state": self.best_state,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best_score = state_dict["best_score"]
        self.best_epoch = state_dict["best_epoch"]
        self.best_state = state_dict["best_state"]


def window_probs(model: torch.nn.Module, waveform: torch.Tensor) -> torch.Tensor:
    """Return sigmoid probabilities `(windows, classes)` for a batch of windows.

    Args:
        model: Waveform-to-logits classifier.
        waveform: `(windows, samples)`, or `(windows, shifts, samples)` with
            test-time shifts, whose probabilities are averaged.
    """
    windows, samples = waveform.shape[0], waveform.shape[-1]
    logits = model(waveform.reshape(-1, samples)).float()
    return torch.sigmoid(logits).reshape(windows, -1, logits.shape[-1]).mean(dim=1)


def predict_probs(model: torch.nn.Module, loader: DataLoader) -> np.ndarray:
    """Return probabilities `(windows, classes)` over a `make_loaders` loader."""
    model.eval()
    with torch.inference_mode():
        rows = [window_probs(model, waveform).numpy() for waveform, _, _ in loader]
    return np.concatenate(rows)
