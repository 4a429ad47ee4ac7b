"""Validation folds, validation windows and the BirdCLEF metrics."""

from bird_pipeline.evaluation.metrics import (
    check_finite_probs,
    macro_roc_auc,
    padded_cmap,
    per_class_average_precision,
)

__all__ = [
    "check_finite_probs",
    "macro_roc_auc",
    "padded_cmap",
    "per_class_average_precision",
]
