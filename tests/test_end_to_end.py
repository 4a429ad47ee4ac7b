"""Every pipeline in order on the real mini set: preprocess to submission.

Runs the chain with `cnn_b0ns`, random initial weights and one short epoch per
stage, in a copy of the project's configuration under a temporary folder, so
the repository's `data/` stays untouched.
"""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import soundfile as sf
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from bird_pipeline.pipelines.stage import STAGES
from bird_pipeline.training.checkpoint import backbone_digest, model_from_checkpoint
from tests.conftest import PROJECT_ROOT

PIPELINE_ORDER = [
    "preprocess",
    *[name for name, _, _ in STAGES],
    "export",
    "benchmark",
    "predict",
]
STAGE_NAMES = [name for name, _, _ in STAGES]


@pytest.fixture(scope="module")
def project(tmp_path_factory, mini_data_dir):
    """A project folder that ran every pipeline; yields its catalog."""
    root = tmp_path_factory.mktemp("project")
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    shutil.copy(PROJECT_ROOT / ".telemetry", root)
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf")
    (root / "src").mkdir()

    runtime_params = {
        "raw_dir": str(mini_data_dir),
        "dataset": "mini",
        "model": "cnn_b0ns",
        "training": {"batch_size": 8, "limit_train_batches": 2, "num_workers": 0},
        # One thread count, batch size and latency file, and a 2-minute "long"
        # streaming file keep the benchmark short; docs/benchmarks.md has the
        # full run.
        "benchmark": {
            "repeats": 1,
            "warmup_runs": 0,
            "threads": [0],
            "batch_sizes": [8],
            "latency_seconds": [10],
            "streaming": {"long_minutes": 2},
        },
        **{stage: {"epochs": 1} for stage in STAGE_NAMES},
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        bootstrap_project(root)
        for pipeline_name in PIPELINE_ORDER:
            with KedroSession.create(
                project_path=root, runtime_params=runtime_params
            ) as session:
                session.run(pipeline_name=pipeline_name)
        with KedroSession.create(
            project_path=root, runtime_params=runtime_params
        ) as session:
            catalog = session.load_context().catalog
            yield root, catalog


@pytest.mark.slow
def test_five_stage_checkpoints_chain(project):
    _, catalog = project
    previous = catalog.load("initial_checkpoint")
    for stage in STAGE_NAMES:
        checkpoint = catalog.load(f"{stage}_checkpoint")
        assert checkpoint["stage"] == stage
        # The stored digest of the previous stage is the digest of its weights.
        assert (
            backbone_digest(model_from_checkpoint(previous))
            == previous["backbone_sha256"]
        )
        # The stage started from exactly the previous stage's final backbone.
        assert checkpoint["backbone_sha256_start"] == previous["backbone_sha256"]
        previous = checkpoint


@pytest.mark.slow
def test_finetune_keeps_backbone_frozen(project):
    _, catalog = project
    finetune = catalog.load("finetune_checkpoint")
    assert finetune["backbone_sha256"] == finetune["backbone_sha256_start"]
    train_bce = catalog.load("train_bce_checkpoint")
    assert train_bce["backbone_sha256"] != train_bce["backbone_sha256_start"]


@pytest.mark.slow
def test_class_count_changes_at_train_ce(project, mini_data_dir):
    _, catalog = project
    taxonomy = pd.read_csv(mini_data_dir / "taxonomy.csv", dtype=str)
    assert catalog.load("pretrain_bce_checkpoint")["classes"] == catalog.load(
        "pretrain_classes"
    )
    assert (
        catalog.load("train_ce_checkpoint")["classes"]
        == taxonomy["primary_label"].tolist()
    )


@pytest.mark.slow
def test_exports_exist_and_pass_parity(project):
    root, catalog = project
    model_dir = root / "data/06_models/mini/cnn_b0ns"
    names = ["model.onnx"] + [
        f"model_{precision}{suffix}"
        for precision in ("fp32", "fp16", "int8")
        for suffix in (".xml", ".bin")
    ]
    for name in names:
        assert (model_dir / name).stat().st_size > 0
    report = catalog.load("export_report")
    runtimes = {row["runtime"]: row for row in report["parity"]}
    assert set(runtimes) == {"onnxruntime", "openvino_fp32", "openvino_fp16"}
    for row in runtimes.values():
        assert row["max_abs_prob_diff"] <= row["atol"]
    assert runtimes["openvino_fp32"]["atol"] == 1e-4
    int8 = report["int8"]
    assert int8["cmap_drop"] <= int8["max_cmap_drop"] == 0.01
    assert int8["validation_source"] == "held-out fold 0"
    assert int8["calibration_windows"] > 0


@pytest.mark.slow
def test_benchmark_report_fields(project, mini_data_dir):
    root, catalog = project
    report = catalog.load("benchmark_report")
    soundscapes = sorted(
        path.name for path in (mini_data_dir / "test_soundscapes").iterdir()
    )
    rows = {row["runtime"]: row for row in report["runtimes"]}
    assert set(rows) == {
        "pytorch",
        "onnxruntime",
        "openvino_fp32",
        "openvino_fp16",
        "openvino_int8",
    }
    for result in report["details"]:
        (batch,) = result["batches"]
        assert sorted(row["file"] for row in batch["files"]) == soundscapes
    for row in rows.values():
        assert row["threads"] >= 1
        assert row["decode_seconds"] > 0
        assert row["inference_seconds"] > 0
        assert row["mel_seconds_pytorch"] > 0
        assert set(row["latency_seconds"]) == {"10s"}
        assert row["peak_rss_mib"] >= row["rss_after_load_mib"] > 0
        assert set(row["projections"]) == {
            "birdclef_2023",
            "birdclef_2024",
            "birdclef_2025",
            "custom",
        }
        assert row["projections"]["birdclef_2023"]["budget_minutes"] == 120
    assert report["precision_hint"] == "f32"
    assert report["ensemble"]["presets"] == ["cnn_b0ns"]
    assert report["ensemble"]["projections"]["birdclef_2025"]["budget_minutes"] == 90
    streaming = report["streaming"]
    assert streaming["long"]["windows"] == 24  # 2 minutes in 5 s windows
    assert streaming["memory_ratio"] > 0
    assert set(report["targets"]) == {
        "openvino_fp16_over_pytorch",
        "openvino_int8_over_fp32",
        "ensemble_projection",
    }
    png = (root / "data/08_reporting/mini/cnn_b0ns/benchmark.png").read_bytes()
    assert png.startswith(b"\x89PNG")


@pytest.mark.slow
def test_submission_rows_and_columns(project, mini_data_dir):
    _, catalog = project
    submission = catalog.load("submission")
    train_classes = catalog.load("train_classes")
    assert list(submission.columns) == ["row_id", *train_classes]

    expected_ids = []
    for path in sorted((mini_data_dir / "test_soundscapes").iterdir()):
        windows = math.ceil(sf.info(path).duration / 5.0)
        expected_ids += [f"{path.stem}_{5 * (index + 1)}" for index in range(windows)]
    assert submission["row_id"].tolist() == expected_ids

    probs = submission[train_classes].to_numpy(dtype=float)
    assert ((probs >= 0) & (probs <= 1)).all()


@pytest.mark.slow
def test_stage_reports_written(project):
    root, catalog = project
    report_dir = root / "data/08_reporting/mini/cnn_b0ns"
    for stage in STAGE_NAMES:
        history = catalog.load(f"{stage}_history")
        assert history["held_out_recordings"] > 0
        for row in history["epochs"]:
            assert 0.0 <= row["val_cmap"] <= 1.0
            assert 0.0 <= row["soundscape_cmap"] <= 1.0
        assert history["best_epoch"] == 0
        for suffix in ("curves", "class_ap"):
            png = (report_dir / f"{stage}_{suffix}.png").read_bytes()
            assert png.startswith(b"\x89PNG")


@pytest.mark.slow
def test_folds_hold_out_common_species(project):
    _, catalog = project
    folds = catalog.load("folds")
    held_out = folds[folds["fold"] == 0]
    assert len(held_out) > 0
    counts = folds["primary_label"].value_counts()
    assert set(held_out["primary_label"]) <= set(counts[counts >= 5].index)
    assert (folds.loc[folds["primary_label"].map(counts) < 5, "fold"] == -1).all()
