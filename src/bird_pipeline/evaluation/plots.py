"""Plots of a stage's history: loss and metric curves, per-class AP."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display is needed or assumed

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

METRIC_KEYS = ("val_cmap", "val_roc_auc", "soundscape_cmap", "soundscape_roc_auc")


def plot_curves(history: dict[str, Any]) -> Figure:
    """Plot training loss and validation metrics per epoch."""
    rows = history["epochs"]
    epochs = [row["epoch"] for row in rows]
    figure, (loss_axis, metric_axis) = plt.subplots(1, 2, figsize=(10, 4))

    loss_axis.plot(epochs, [row.get("train_loss_epoch") for row in rows], marker="o")
    loss_axis.set(
        title=f"{history['stage']}: training loss", xlabel="epoch", ylabel="loss"
    )

    for key in METRIC_KEYS:
        values = [row.get(key) for row in rows]
        if any(value is not None for value in values):
            metric_axis.plot(epochs, values, marker="o", label=key)
    metric_axis.set(title="validation", xlabel="epoch", ylabel="score", ylim=(0, 1.02))
    if metric_axis.get_legend_handles_labels()[0]:
        metric_axis.legend()
    figure.tight_layout()
    return figure


def plot_class_ap(history: dict[str, Any]) -> Figure:
    """Plot the last epoch's padded AP per class, one bar group per validation set."""
    class_ap: dict[str, dict[str, float]] = history.get("class_ap") or {}
    classes = list(history["classes"])
    figure, axis = plt.subplots(figsize=(max(6.0, 0.3 * len(classes)), 4))
    width = 0.8 / max(1, len(class_ap))
    for offset, (name, scores) in enumerate(class_ap.items()):
        positions = [index + offset * width for index in range(len(classes))]
        axis.bar(
            positions, [scores.get(code, 0.0) for code in classes], width, label=name
        )
    axis.set_xticks(range(len(classes)), classes, rotation=90, fontsize=7)
    axis.set(
        title=f"{history['stage']}: padded AP per class", ylabel="AP", ylim=(0, 1.02)
    )
    if class_ap:
        axis.legend()
    else:
        axis.text(
            0.5,
            0.5,
            "no validation in this stage",
            ha="center",
            transform=axis.transAxes,
        )
    figure.tight_layout()
    return figure
