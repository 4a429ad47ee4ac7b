"""MLflow logging of the stage reports, through a Kedro hook.

kedro-mlflow opens one MLflow run per `kedro run` and logs the parameters.
This hook adds what the nodes write: every stage's per-epoch metrics (as
`<stage>.<metric>` with the epoch as step), its history JSON and its figures,
and the evaluation, export and benchmark reports. Training code stays free of
MLflow. When no run is active (tracking switched off) the hook does nothing.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

REPORTS = ("evaluation_report", "export_report", "benchmark_report")
FIGURE_SUFFIXES = ("_curves", "_class_ap")


def _active_mlflow():
    try:
        import mlflow
    except ImportError:
        return None
    return mlflow if mlflow.active_run() is not None else None


def _epoch_metrics(stage: str, history: dict[str, Any]) -> list[tuple[int, dict]]:
    """Return `(epoch, {"<stage>.<metric>": value})` for each finite metric."""
    steps = []
    for row in history.get("epochs", []):
        metrics = {
            f"{stage}.{name}": float(value)
            for name, value in row.items()
            if name != "epoch"
            and isinstance(value, int | float)
            and math.isfinite(float(value))
        }
        steps.append((int(row["epoch"]), metrics))
    return steps


class MlflowReportHooks:
    """Log stage histories, figures and reports to the active MLflow run."""

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        mlflow = _active_mlflow()
        if mlflow is None:
            return
        if dataset_name.endswith("_history"):
            stage = dataset_name.removesuffix("_history")
            for epoch, metrics in _epoch_metrics(stage, data):
                mlflow.log_metrics(metrics, step=epoch)
            mlflow.log_dict(data, f"{stage}/history.json")
        elif dataset_name.endswith(FIGURE_SUFFIXES):
            stage = dataset_name.rsplit("_", 2 if "_class_ap" in dataset_name else 1)[0]
            mlflow.log_figure(data, f"{stage}/{dataset_name}.png")
        elif dataset_name in REPORTS:
            mlflow.log_dict(data, f"reports/{dataset_name}.json")
