"""Pipeline nodes on small generated inputs."""

from __future__ import annotations

import dataclasses
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml

from bird_pipeline.audio.decode import AudioDecodeError
from bird_pipeline.audio.windows import split_shifted_windows
from bird_pipeline.datasets import (
    AudioCacheDataset,
    AudioFile,
    AudioFolderDataset,
    ExportedModelsDataset,
    IRLoader,
    OpenVINOModelDataset,
)
from bird_pipeline.export import convert_openvino_model, prepare_for_export
from bird_pipeline.inference import compile_openvino, infer_logits, sigmoid
from bird_pipeline.inference.stream import stream_windows
from bird_pipeline.models import build_classifier
from bird_pipeline.models.presets import ModelPreset
from bird_pipeline.pipelines.evaluate.nodes import evaluate_checkpoints
from bird_pipeline.pipelines.export.nodes import convert_openvino, select_parity_windows
from bird_pipeline.pipelines.predict.nodes import (
    confirm_export,
    parse_presets,
    predict_soundscapes,
)
from bird_pipeline.pipelines.preprocess.nodes import (
    decode_recordings,
    validate_metadata_node,
)
from bird_pipeline.pipelines.stage import nodes as stage_nodes
from bird_pipeline.pipelines.stage.nodes import (
    initialize_model,
    plot_stage_report,
    select_checkpoint,
    train_stage,
)
from bird_pipeline.training.config import StageConfig
from bird_pipeline.training.module import StageModule
from bird_pipeline.training.resume import resume_path

SAMPLE_RATE = 32000
PROJECT_ROOT = Path(__file__).resolve().parents[1]
PREPROCESS = {
    "sample_rate": SAMPLE_RATE,
    "workers": 1,
    "block_seconds": 60.0,
    "min_seconds": 0.1,
    "min_decoded_fraction": 0.9,
    "labels_outside_taxonomy": "drop",
}
EXPORT_PARAMS = {
    "sample_rate": SAMPLE_RATE,
    "window_seconds": 5.0,
    "parity_windows": 4,
    "max_batch": 64,
    "precision_hint": "f32",
    "parity_atol": {"onnxruntime": 1e-4, "openvino_fp32": 1e-4, "openvino_fp16": 5e-3},
}
BASE_TRAINING = yaml.safe_load(
    (PROJECT_ROOT / "conf" / "base" / "parameters_training.yml").read_text()
)["training"]
# Every augmentation fires often on a tiny run, so the whole path is exercised.
TRAINING = {
    **BASE_TRAINING,
    "batch_size": 2,
    "clip_seconds": 5.0,
    "augment": {
        **BASE_TRAINING["augment"],
        **{key: 0.5 for key in BASE_TRAINING["augment"] if key.endswith("_prob")},
    },
    "spec_mixup_prob": 0.5,
    "num_workers": 0,
    "limit_train_batches": 1,
    "resume_dir": None,
    "log_dir": None,
    "accelerator": "cpu",
    "devices": 1,
    "num_nodes": 1,
    "strategy": "auto",
    "precision": "32-true",
}


VALIDATION = {
    "reference": True,
    "n_folds": 2,
    "fold": 0,
    "seed": 0,
    "max_seconds": 60.0,
    "window_seconds": 5.0,
    "batch_size": 4,
    "monitor": "val_cmap",
    "next_checkpoint": "best",
}
NOISE_BANK = {
    "rain": np.random.default_rng(0).standard_normal(SAMPLE_RATE * 7).astype(np.float32)
}
NO_SOUNDSCAPES = pd.DataFrame(
    columns=["row_id", "soundscape_id", "start_second", "birds"]
)


def run_stage(
    initial,
    cache,
    classes,
    stage,
    validation=VALIDATION,
    folds=None,
    training=TRAINING,
):
    """Run `train_stage` on the small cache; return the last checkpoint and report."""
    audio_cache, recordings = cache
    if folds is None:
        folds = pd.DataFrame({"recording_id": recordings["recording_id"], "fold": -1})
    last, _, report = train_stage(
        initial,
        recordings,
        folds,
        audio_cache,
        NOISE_BANK,
        {},
        NO_SOUNDSCAPES,
        pd.DataFrame(),
        pd.DataFrame(),
        classes,
        training,
        validation,
        stage,
    )
    return last, report


def tone(seconds: float, hz: float, rate: int = SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture
def raw_folder(tmp_path):
    """Three good recordings, one corrupt file and one metadata row without a file."""
    audio = tmp_path / "train_audio"
    (audio / "aaa").mkdir(parents=True)
    (audio / "bbb").mkdir()
    sf.write(audio / "aaa/1.ogg", tone(6.0, 1000), SAMPLE_RATE)
    sf.write(audio / "aaa/2.wav", np.stack([tone(3.0, 1000, 44100)] * 2, axis=1), 44100)
    sf.write(audio / "bbb/3.flac", tone(7.0, 3000, 48000), 48000)
    (audio / "bbb/4.ogg").write_bytes(b"not audio at all")
    metadata = pd.DataFrame(
        {
            "primary_label": ["aaa", "aaa", "bbb", "bbb", "bbb"],
            "secondary_labels": ["[]", "['bbb']", "[]", "[]", "[]"],
            "rating": ["4", "3", "", "5", "5"],
            "filename": [
                "aaa/1.ogg",
                "aaa/2.wav",
                "bbb/3.flac",
                "bbb/4.ogg",
                "bbb/5.ogg",
            ],
        }
    )
    return tmp_path, metadata


@pytest.fixture
def cache(tmp_path, raw_folder):
    """The decoded cache of `raw_folder` and its recordings table."""
    root, metadata = raw_folder
    train_audio = AudioFolderDataset(str(root / "train_audio")).load()
    params = {**PREPROCESS, "max_skipped": 5}
    recordings, _ = validate_metadata_node(
        metadata, train_audio, pd.DataFrame(), pd.DataFrame(), params
    )
    dataset = AudioCacheDataset(str(tmp_path / "cache"))
    decoded, _ = decode_recordings(recordings, train_audio, dataset.load(), params)
    return dataset.load(), decoded


def _initial_checkpoint(preset: ModelPreset, **options: Any) -> dict[str, Any]:
    preset_table = {
        "test_cnn": {
            key: value
            for key, value in dataclasses.asdict(preset).items()
            if key != "name"
        }
    }
    options = {"pretrained": False, "pretrained_file": None, **options}
    return initialize_model("test_cnn", preset_table, options, ["aaa", "bbb"])


@pytest.fixture
def initial(small_preset):
    return _initial_checkpoint(small_preset, init_seed=0)


def test_initial_model_is_seeded(small_preset):
    torch.manual_seed(1)
    first = _initial_checkpoint(small_preset, init_seed=5)
    after_first = torch.rand(1)
    torch.manual_seed(2)  # another global state must not change the weights
    second = _initial_checkpoint(small_preset, init_seed=5)
    other = _initial_checkpoint(small_preset, init_seed=6)
    torch.testing.assert_close(
        first["state_dict"], second["state_dict"], rtol=0, atol=0
    )
    assert first["backbone_sha256"] != other["backbone_sha256"]
    torch.manual_seed(1)
    assert torch.equal(torch.rand(1), after_first)  # the global generator is untouched
    with pytest.raises(ValueError, match="model_options.init_seed"):
        _initial_checkpoint(small_preset)


def test_train_stage_chains_backbone(cache, initial):
    stage = {"name": "pretrain_ce", "loss": "ce", "epochs": 1, "lr": 1e-3, "seed": 1}
    checkpoint, report = run_stage(initial, cache, ["aaa", "bbb"], stage)
    assert checkpoint["backbone_sha256_start"] == initial["backbone_sha256"]
    assert checkpoint["backbone_sha256"] != initial["backbone_sha256"]
    assert len(report["epochs"]) == 1
    assert np.isfinite(report["epochs"][0]["train_loss_epoch"])


def test_train_stage_same_seed_same_weights(cache, initial):
    stage = {"name": "pretrain_bce", "loss": "bce", "epochs": 1, "lr": 1e-3, "seed": 3}
    first, _ = run_stage(initial, cache, ["aaa", "bbb"], stage)
    second, _ = run_stage(initial, cache, ["aaa", "bbb"], stage)
    assert first["backbone_sha256"] == second["backbone_sha256"]


def test_train_stage_new_classes_need_reinit(cache, initial):
    stage = {"name": "train_ce", "loss": "ce", "epochs": 1, "lr": 1e-3, "seed": 1}
    with pytest.raises(ValueError, match="set reinit_head: true"):
        run_stage(initial, cache, ["bbb", "aaa", "zzz"], stage)
    checkpoint, _ = run_stage(
        initial, cache, ["bbb", "aaa", "zzz"], {**stage, "reinit_head": True}
    )
    assert checkpoint["classes"] == ["bbb", "aaa", "zzz"]
    assert checkpoint["backbone_sha256_start"] == initial["backbone_sha256"]


def test_train_stage_frozen_backbone_unchanged(cache, initial):
    stage = {
        "name": "finetune",
        "loss": "bce",
        "epochs": 1,
        "lr": 1e-2,
        "seed": 1,
        "clip_seconds": 10.0,
        "freeze_backbone": True,
    }
    checkpoint, _ = run_stage(initial, cache, ["aaa", "bbb"], stage)
    assert checkpoint["backbone_sha256"] == initial["backbone_sha256"]
    assert not all(
        (checkpoint["state_dict"][key] == initial["state_dict"][key]).all()
        for key in checkpoint["state_dict"]
        if key.startswith("head.")
    )


def test_clip_not_whole_segments_raises(cache, initial):
    stage = {
        "name": "pretrain_ce",
        "loss": "ce",
        "epochs": 1,
        "lr": 1e-3,
        "seed": 1,
        "clip_seconds": 7.0,
    }
    with pytest.raises(ValueError, match="clip_seconds=7.0 is not a multiple"):
        run_stage(initial, cache, ["aaa", "bbb"], stage)


def test_train_stage_validates_held_out_fold(cache, initial):
    _, recordings = cache
    folds = pd.DataFrame(
        {"recording_id": recordings["recording_id"], "fold": [0, 1, 1]}
    )
    validation = {**VALIDATION, "reference": False}
    stage = {"name": "train_bce", "loss": "bce", "epochs": 2, "lr": 1e-3, "seed": 1}
    _, report = run_stage(initial, cache, ["aaa", "bbb"], stage, validation, folds)
    assert report["held_out_recordings"] == 1
    assert report["training_recordings"] == 2
    assert [row["epoch"] for row in report["epochs"]] == [0, 1]
    for row in report["epochs"]:
        assert 0.0 <= row["val_cmap"] <= 1.0
    assert report["best_epoch"] in (0, 1)
    assert set(report["class_ap"]["val"]) == {"aaa", "bbb"}

    curves, class_ap = plot_stage_report(report)
    assert curves.axes[1].get_lines()
    assert len(class_ap.axes[0].patches) == 2


def test_evaluate_matches_stage_validation(cache, initial):
    _, recordings = cache
    folds = pd.DataFrame(
        {"recording_id": recordings["recording_id"], "fold": [0, 1, 1]}
    )
    validation = {**VALIDATION, "reference": False}
    stage = {"name": "train_bce", "loss": "bce", "epochs": 1, "lr": 1e-3, "seed": 1}
    last, report = run_stage(initial, cache, ["aaa", "bbb"], stage, validation, folds)
    audio_cache, _ = cache
    evaluation = evaluate_checkpoints(
        last, last, recordings, folds, audio_cache, {}, NO_SOUNDSCAPES, validation
    )
    assert evaluation["held_out_in_training"] is False
    assert evaluation["train_bce"]["val_cmap"] == pytest.approx(
        report["epochs"][-1]["val_cmap"], abs=1e-6
    )
    reference = evaluate_checkpoints(
        last,
        last,
        recordings,
        folds,
        audio_cache,
        {},
        NO_SOUNDSCAPES,
        {**validation, "reference": True},
    )
    assert reference["held_out_in_training"] is True


RESUME_STAGE = {"name": "train_bce", "loss": "bce", "epochs": 3, "lr": 1e-3, "seed": 1}
RESUME_VALIDATION = {**VALIDATION, "reference": False}
# One clip per batch and every batch, so an interruption lands mid-epoch.
RESUME_TRAINING = {**TRAINING, "batch_size": 1, "limit_train_batches": 1.0}


def resume_folds(recordings: pd.DataFrame) -> pd.DataFrame:
    """Hold out the first of the three recordings, so two train."""
    return pd.DataFrame({"recording_id": recordings["recording_id"], "fold": [0, 1, 1]})


class CrashingModule(StageModule):
    """Fails like a killed process in the second batch of the second epoch."""

    def training_step(self, batch, batch_idx):
        if self.current_epoch == 1 and batch_idx == 1:
            raise RuntimeError("simulated crash")
        return super().training_step(batch, batch_idx)


def test_interrupted_stage_resumes_to_same_weights(
    cache, initial, tmp_path, monkeypatch, caplog
):
    _, recordings = cache
    folds = resume_folds(recordings)
    validation = RESUME_VALIDATION
    stage = RESUME_STAGE
    training = RESUME_TRAINING
    assert len(recordings) - 1 > training["batch_size"]

    uninterrupted, report = run_stage(
        initial,
        cache,
        ["aaa", "bbb"],
        stage,
        validation,
        folds,
        {**training, "resume_dir": str(tmp_path / "uninterrupted")},
    )
    resume_dir = tmp_path / "interrupted"
    with monkeypatch.context() as patch:
        patch.setattr(stage_nodes, "StageModule", CrashingModule)
        with pytest.raises(RuntimeError, match="simulated crash"):
            run_stage(
                initial,
                cache,
                ["aaa", "bbb"],
                stage,
                validation,
                folds,
                {**training, "resume_dir": str(resume_dir)},
            )
    assert len(list(resume_dir.glob("train_bce-*.ckpt"))) == 1

    with caplog.at_level(logging.INFO, logger="bird_pipeline.training.resume"):
        resumed, resumed_report = run_stage(
            initial,
            cache,
            ["aaa", "bbb"],
            stage,
            validation,
            folds,
            {**training, "resume_dir": str(resume_dir)},
        )
    # A fresh start would give the same weights too: check that it resumed.
    assert "after epoch 0" in caplog.text
    assert list(resume_dir.glob("train_bce-*.ckpt")) == []
    assert [row["epoch"] for row in resumed_report["epochs"]] == [0, 1, 2]
    assert resumed_report["best_epoch"] == report["best_epoch"]
    for key, tensor in uninterrupted["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], tensor, msg=key)


def test_killed_stage_resumes_to_same_weights(cache, initial, tmp_path, caplog):
    # A real SIGKILL in the second batch of the second epoch: nothing of the
    # stage's own cleanup runs, only what was on disk before the kill counts.
    _, recordings = cache
    training = RESUME_TRAINING
    resume_dir = tmp_path / "killed"
    args = [
        initial,
        cache,
        ["aaa", "bbb"],
        RESUME_STAGE,
        RESUME_VALIDATION,
        resume_folds(recordings),
    ]
    args_path = tmp_path / "stage_args.pkl"
    with args_path.open("wb") as handle:
        pickle.dump([*args, {**training, "resume_dir": str(resume_dir)}], handle)
    marker = tmp_path / "mid_epoch"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), *sys.path])}
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.stage_driver", str(args_path), str(marker)],
        cwd=PROJECT_ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert process.poll() is None, "the stage process ended before the kill"
            assert time.monotonic() < deadline, "the stage never reached epoch 1"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    (resume_file,) = resume_dir.glob("train_bce-*.ckpt")
    assert torch.load(resume_file, weights_only=False)["epoch"] == 0

    uninterrupted, report = run_stage(
        *args, {**training, "resume_dir": str(tmp_path / "uninterrupted")}
    )
    with caplog.at_level(logging.INFO, logger="bird_pipeline.training.resume"):
        resumed, resumed_report = run_stage(
            *args, {**training, "resume_dir": str(resume_dir)}
        )
    assert "after epoch 0" in caplog.text  # resumed, not started afresh
    assert list(resume_dir.glob("train_bce-*.ckpt")) == []
    assert [row["epoch"] for row in resumed_report["epochs"]] == [0, 1, 2]
    assert resumed_report["best_epoch"] == report["best_epoch"]
    for key, tensor in uninterrupted["state_dict"].items():
        torch.testing.assert_close(resumed["state_dict"][key], tensor, msg=key)


def test_train_stage_with_pseudo_labels(cache, initial):
    audio_cache, recordings = cache
    rows = []
    for recording_id in recordings["recording_id"]:
        for window in range(3):
            rows.append(
                {
                    "recording_id": recording_id,
                    "source": "recording",
                    "window": window,
                    "start_second": 5.0 * window,
                    "aaa": 0.5,
                    "bbb": 0.5,
                }
            )
    pseudo_labels = pd.DataFrame(rows)
    thresholds = pd.DataFrame({"class": ["aaa", "bbb"], "threshold": [0.6, 0.6]})
    stage = {"name": "train_bce", "loss": "bce", "epochs": 1, "lr": 1e-3, "seed": 1}
    folds = pd.DataFrame({"recording_id": recordings["recording_id"], "fold": -1})
    last, _, report = train_stage(
        initial,
        recordings,
        folds,
        audio_cache,
        NOISE_BANK,
        {},
        NO_SOUNDSCAPES,
        pseudo_labels,
        thresholds,
        ["aaa", "bbb"],
        {**TRAINING, "use_pseudo": True},
        VALIDATION,
        stage,
    )
    assert report["training_recordings"] == 3
    assert last["stage"] == "train_bce"
    with pytest.raises(ValueError, match="--pipelines pseudo_label"):
        train_stage(
            initial,
            recordings,
            folds,
            audio_cache,
            NOISE_BANK,
            {},
            NO_SOUNDSCAPES,
            pd.DataFrame(),
            pd.DataFrame(),
            ["aaa", "bbb"],
            {**TRAINING, "use_pseudo": True},
            VALIDATION,
            stage,
        )


@pytest.mark.slow
def test_train_stage_ddp_two_cpu_processes(cache, initial):
    _, recordings = cache
    folds = pd.DataFrame(
        {"recording_id": recordings["recording_id"], "fold": [0, 1, 1]}
    )
    validation = {**VALIDATION, "reference": False}
    stage = {"name": "train_bce", "loss": "bce", "epochs": 2, "lr": 1e-3, "seed": 1}
    training = {
        **TRAINING,
        "devices": 2,
        "strategy": "ddp",
        "batch_size": 1,
        "limit_train_batches": 1.0,
    }
    last, report = run_stage(
        initial, cache, ["aaa", "bbb"], stage, validation, folds, training
    )
    assert last["stage"] == "train_bce"
    assert last["backbone_sha256"] != initial["backbone_sha256"]
    assert report["world_size"] == 2
    assert [row["epoch"] for row in report["epochs"]] == [0, 1]
    # Validation gathered both ranks' windows: every window got a score.
    for row in report["epochs"]:
        assert 0.0 <= row["val_cmap"] <= 1.0


def test_ddp_needs_ddp_strategy():
    with pytest.raises(ValueError, match="need a DDP strategy"):
        StageConfig.from_params(
            {
                **TRAINING,
                "name": "train_bce",
                "loss": "bce",
                "epochs": 1,
                "lr": 1e-3,
                "seed": 1,
                "devices": 2,
            }
        )


def test_resume_file_of_other_settings_removed(tmp_path):
    stale = tmp_path / "train_bce-0000000000000000.ckpt"
    partial = tmp_path / ".train_bce-1111111111111111.ckpt.abc.tmp"
    stale.write_bytes(b"old")
    partial.write_bytes(b"half")
    path = resume_path(str(tmp_path), "train_bce", "2222222222222222")
    assert path.name == "train_bce-2222222222222222.ckpt"
    assert not stale.exists()
    assert not partial.exists()


def test_select_checkpoint_follows_switch():
    last, best = {"stage": "last"}, {"stage": "best"}
    validation = {**VALIDATION, "reference": False}
    assert select_checkpoint(last, best, validation) is best
    assert (
        select_checkpoint(last, best, {**validation, "next_checkpoint": "last"}) is last
    )
    assert select_checkpoint(last, best, {**validation, "reference": True}) is last


def test_validation_monitor_unknown_raises(cache, initial):
    stage = {"name": "train_bce", "loss": "bce", "epochs": 1, "lr": 1e-3, "seed": 1}
    with pytest.raises(ValueError, match="validation.monitor 'val_f1' is unknown"):
        run_stage(
            initial, cache, ["aaa", "bbb"], stage, {**VALIDATION, "monitor": "val_f1"}
        )


@pytest.fixture
def exported_models(tmp_path, cache, initial):
    """The initial model's FP16 IR, stored as the export pipeline stores it."""
    audio_cache, recordings = cache
    windows = select_parity_windows(recordings, audio_cache, EXPORT_PARAMS)
    ov_model, _ = convert_openvino(initial, windows, EXPORT_PARAMS)
    models = tmp_path / "models"
    OpenVINOModelDataset(str(models / "test_cnn/model_fp16.xml")).save(ov_model)
    return ExportedModelsDataset(str(models)).load()


@pytest.fixture
def soundscapes(tmp_path):
    folder = tmp_path / "soundscapes"
    folder.mkdir()
    sf.write(folder / "site_a.ogg", tone(12.0, 2000), SAMPLE_RATE)  # 2 full + 1 partial
    sf.write(folder / "site_b.wav", tone(5.0, 500, 16000), 16000)  # exactly one window
    return {path.name: AudioFile(path) for path in sorted(folder.iterdir())}


PREDICT_PARAMS = {
    "presets": [],
    "precision": "fp16",
    "sample_rate": SAMPLE_RATE,
    "window_seconds": 5.0,
    "threads": 1,
    "precision_hint": "f32",
    "batch_size": 2,
}


@pytest.fixture
def presets_table(initial):
    """Every preset name the predict tests use, with the initial model's settings."""
    entry = {key: value for key, value in initial["preset"].items() if key != "name"}
    return {name: entry for name in ("test_cnn", "first", "second", "cnn_b0ns")}


def test_parity_windows_one_per_recording(cache):
    audio_cache, recordings = cache
    windows = select_parity_windows(recordings, audio_cache, EXPORT_PARAMS)
    assert windows.shape == (3, 5 * SAMPLE_RATE)
    # One species at a time: aaa/1, bbb/3, then aaa/2 (3 s, so zero-padded).
    assert windows[2, 3 * SAMPLE_RATE :].max() == 0.0
    assert windows[1, 3 * SAMPLE_RATE :].max() > 0.0


def test_predict_row_ids_and_columns(exported_models, soundscapes, presets_table):
    submission = predict_soundscapes(
        exported_models,
        soundscapes,
        ["aaa", "bbb"],
        "test_cnn",
        presets_table,
        PREDICT_PARAMS,
    )
    assert list(submission.columns) == ["row_id", "aaa", "bbb"]
    assert submission["row_id"].tolist() == [
        "site_a_5",
        "site_a_10",
        "site_a_15",
        "site_b_5",
    ]
    probs = submission[["aaa", "bbb"]].to_numpy()
    assert np.isfinite(probs).all()
    assert ((probs >= 0) & (probs <= 1)).all()


def test_predict_class_count_mismatch_raises(
    exported_models, soundscapes, presets_table
):
    with pytest.raises(ValueError, match="predicts 2 classes"):
        predict_soundscapes(
            exported_models,
            soundscapes,
            ["aaa", "bbb", "ccc"],
            "test_cnn",
            presets_table,
            PREDICT_PARAMS,
        )


def test_parse_presets_forms():
    assert parse_presets(["a", "b"], "m") == ["a", "b"]
    assert parse_presets("a  b", "m") == ["a", "b"]
    assert parse_presets([], "m") == ["m"]
    assert parse_presets(None, "m") == ["m"]
    assert parse_presets("", "") == []


def test_predict_missing_preset_raises(exported_models, soundscapes, presets_table):
    params = {**PREDICT_PARAMS, "presets": ["test_cnn", "cnn_b0ns"]}
    with pytest.raises(ValueError, match=r"presets \['cnn_b0ns'\]"):
        predict_soundscapes(
            exported_models,
            soundscapes,
            ["aaa", "bbb"],
            "test_cnn",
            presets_table,
            params,
        )


def test_predict_ensemble_averages_members(
    exported_models, soundscapes, initial, tmp_path, presets_table
):
    # A second member with other weights: the ensemble is the mean of both.
    members = {"first": exported_models["test_cnn"]}
    torch.manual_seed(1)
    other = build_classifier(ModelPreset(**initial["preset"]), num_classes=2)
    other_ir = convert_openvino_model(prepare_for_export(other), torch.zeros(1, 160000))
    other_path = tmp_path / "other/model_fp16.xml"
    OpenVINOModelDataset(str(other_path)).save(other_ir)
    members["second"] = {"fp16": IRLoader(other_path)}
    single = {
        name: predict_soundscapes(
            members, soundscapes, ["aaa", "bbb"], name, presets_table, PREDICT_PARAMS
        )
        for name in members
    }
    ensemble = predict_soundscapes(
        members,
        soundscapes,
        ["aaa", "bbb"],
        "first",
        presets_table,
        {**PREDICT_PARAMS, "presets": ["first", "second"]},
    )
    expected = (single["first"][["aaa", "bbb"]] + single["second"][["aaa", "bbb"]]) / 2
    np.testing.assert_allclose(ensemble[["aaa", "bbb"]], expected, atol=1e-6)


def test_predict_non_finite_names_window(
    exported_models, soundscapes, presets_table, monkeypatch
):
    import bird_pipeline.pipelines.predict.nodes as predict_nodes

    def nan_logits(compiled, windows, batch_size):
        logits = np.zeros((len(windows), 2), dtype=np.float32)
        logits[-1, 1] = np.nan
        return logits

    monkeypatch.setattr(predict_nodes, "infer_logits", nan_logits)
    # Windows stream in blocks of batch_size 2: the first NaN is window 2.
    with pytest.raises(FloatingPointError, match="window 'site_a_10', class 'bbb'"):
        predict_soundscapes(
            exported_models,
            soundscapes,
            ["aaa", "bbb"],
            "test_cnn",
            presets_table,
            PREDICT_PARAMS,
        )


def test_predict_shift_averages_whole_soundscape(
    exported_models, soundscapes, presets_table
):
    # A 1 s shift: each window is also read 1 s earlier and later, across the
    # block boundaries of batch_size 2, with zeros outside the recording.
    shifted_table = {"test_cnn": {**presets_table["test_cnn"], "shift_seconds": 1.0}}
    submission = predict_soundscapes(
        exported_models,
        soundscapes,
        ["aaa", "bbb"],
        "test_cnn",
        shifted_table,
        PREDICT_PARAMS,
    )
    compiled = compile_openvino(exported_models["test_cnn"]["fp16"](), 1, "f32")
    waveform = np.concatenate(
        list(stream_windows(soundscapes["site_a.ogg"].path, SAMPLE_RATE, 5.0, 8))
    ).reshape(-1)
    shifted = split_shifted_windows(waveform, 5 * SAMPLE_RATE, SAMPLE_RATE)
    logits = infer_logits(compiled, shifted.reshape(-1, 5 * SAMPLE_RATE), 2)
    expected = sigmoid(logits).reshape(3, 3, 2).mean(axis=1)
    site_a = submission[submission["row_id"].str.startswith("site_a")]
    np.testing.assert_allclose(site_a[["aaa", "bbb"]], expected, atol=1e-6)
    unshifted = predict_soundscapes(
        exported_models,
        soundscapes,
        ["aaa", "bbb"],
        "test_cnn",
        presets_table,
        PREDICT_PARAMS,
    )
    assert not np.allclose(submission[["aaa", "bbb"]], unshifted[["aaa", "bbb"]])


def test_predict_rejects_preset_of_other_rate(
    exported_models, soundscapes, presets_table
):
    other_rate = {"test_cnn": {**presets_table["test_cnn"], "sample_rate": 48000}}
    with pytest.raises(ValueError, match="predict.sample_rate=48000"):
        predict_soundscapes(
            exported_models,
            soundscapes,
            ["aaa", "bbb"],
            "test_cnn",
            other_rate,
            PREDICT_PARAMS,
        )


def test_confirm_export_checks_preset():
    models = {"cnn_b0ns": {}}
    assert confirm_export({"preset": "cnn_b0ns"}, models, "cnn_b0ns") is models
    with pytest.raises(ValueError, match="--pipelines export --params model=sed_v2s"):
        confirm_export({"preset": "cnn_b0ns"}, models, "sed_v2s")


@pytest.mark.parametrize("content", [b"", b"not audio at all"])
def test_predict_unreadable_soundscape_names_fix(
    exported_models, soundscapes, presets_table, tmp_path, content
):
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(content)
    with_broken = {**soundscapes, "broken.ogg": AudioFile(broken)}
    with pytest.raises(AudioDecodeError, match="remove or replace broken.ogg") as error:
        predict_soundscapes(
            exported_models,
            with_broken,
            ["aaa", "bbb"],
            "test_cnn",
            presets_table,
            PREDICT_PARAMS,
        )
    assert error.value.reason == ("empty" if not content else "unreadable")
