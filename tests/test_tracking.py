"""MLflow logging of stage histories, figures and reports."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import mlflow
import pytest
from matplotlib.figure import Figure

from bird_pipeline.tracking import MlflowReportHooks

HISTORY = {
    "stage": "train_bce",
    "epochs": [
        {"epoch": 0, "lr": 1e-3, "train_loss_epoch": 0.7, "val_cmap": 0.5},
        {"epoch": 1, "lr": 5e-4, "train_loss_epoch": 0.6, "val_roc_auc": math.nan},
    ],
}


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """One SQLite store for the module: creating its schema takes seconds."""
    folder = tmp_path_factory.mktemp("mlflow")
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    yield mlflow.create_experiment(
        "test", artifact_location=(folder / "artifacts").as_uri()
    )
    mlflow.set_tracking_uri(None)


@pytest.fixture
def tracking(experiment):
    with mlflow.start_run(experiment_id=experiment) as run:
        yield run.info.run_id


def test_history_logged_per_epoch(tracking):
    MlflowReportHooks().after_dataset_saved("train_bce_history", HISTORY, None)
    client = mlflow.MlflowClient()
    losses = client.get_metric_history(tracking, "train_bce.train_loss_epoch")
    assert [(m.step, m.value) for m in losses] == [(0, 0.7), (1, 0.6)]
    assert client.get_metric_history(tracking, "train_bce.val_roc_auc") == []
    artifacts = [a.path for a in client.list_artifacts(tracking, "train_bce")]
    assert artifacts == ["train_bce/history.json"]


def test_figures_and_reports_logged(tracking):
    hooks = MlflowReportHooks()
    figure = Figure()
    figure.add_subplot().plot([0, 1], [1, 0])
    hooks.after_dataset_saved("train_ce_class_ap", figure, None)
    hooks.after_dataset_saved("evaluation_report", {"fold": 0}, None)
    client = mlflow.MlflowClient()
    assert [a.path for a in client.list_artifacts(tracking, "train_ce")] == [
        "train_ce/train_ce_class_ap.png"
    ]
    assert [a.path for a in client.list_artifacts(tracking, "reports")] == [
        "reports/evaluation_report.json"
    ]


def test_no_active_run_logs_nothing(experiment):
    assert mlflow.active_run() is None
    MlflowReportHooks().after_dataset_saved("train_bce_history", HISTORY, None)
    assert mlflow.active_run() is None
