"""Pipeline nodes on small generated inputs."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from bird_pipeline.datasets import AudioCacheDataset, AudioFolderDataset, read_audio
from bird_pipeline.pipelines.benchmark.nodes import benchmark_openvino
from bird_pipeline.pipelines.export.nodes import convert_openvino, select_parity_windows
from bird_pipeline.pipelines.predict.nodes import predict_soundscapes
from bird_pipeline.pipelines.preprocess.nodes import (
    decode_recordings,
    validate_metadata_node,
)
from bird_pipeline.pipelines.stage.nodes import (
    initialize_model,
    plot_stage_report,
    select_checkpoint,
    train_stage,
)

SAMPLE_RATE = 32000
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
    "parity_atol": {"onnxruntime": 1e-4, "openvino": 5e-3},
}
TRAINING = {
    "label_smoothing": 0.0,
    "min_lr": 1e-6,
    "weight_decay": 1e-3,
    "batch_size": 2,
    "clip_seconds": 5.0,
    "secondary_target": 0.9,
    "weighted_sampler": True,
    "min_rating_weight": 0.1,
    "unrated_weight": 1.0,
    "non_target_weight": 0.8,
    "reinit_head": False,
    "freeze_backbone": False,
    "frame_loss_weight": 0.5,
    "augment": {
        "gain_prob": 0.5,
        "gain_db": [-6.0, 6.0],
        "gain_transition_prob": 0.5,
        "gaussian_noise_prob": 0.5,
        "pink_noise_prob": 0.5,
        "noise_snr_db": [5.0, 20.0],
        "time_shift_prob": 0.5,
    },
    "mixup_prob": 0.5,
    "mixup_max_clips": 3,
    "num_workers": 0,
    "limit_train_batches": 1,
    "accelerator": "cpu",
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
NO_SOUNDSCAPES = pd.DataFrame(
    columns=["row_id", "soundscape_id", "start_second", "birds"]
)


def run_stage(initial, cache, classes, stage, validation=VALIDATION, folds=None):
    """Run `train_stage` on the small cache; return the last checkpoint and report."""
    audio_cache, recordings = cache
    if folds is None:
        folds = pd.DataFrame({"recording_id": recordings["recording_id"], "fold": -1})
    last, _, report = train_stage(
        initial,
        recordings,
        folds,
        audio_cache,
        {},
        NO_SOUNDSCAPES,
        classes,
        TRAINING,
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


@pytest.fixture
def initial(small_preset):
    preset_table = {
        "test_cnn": {
            key: value
            for key, value in dataclasses.asdict(small_preset).items()
            if key != "name"
        }
    }
    options = {"pretrained": False, "pretrained_file": None}
    return initialize_model("test_cnn", preset_table, options, ["aaa", "bbb"])


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
def model_ir(cache, initial):
    audio_cache, recordings = cache
    windows = select_parity_windows(recordings, audio_cache, EXPORT_PARAMS)
    ov_model, _ = convert_openvino(initial, windows, EXPORT_PARAMS)
    return ov_model


@pytest.fixture
def soundscapes(tmp_path):
    folder = tmp_path / "soundscapes"
    folder.mkdir()
    sf.write(folder / "site_a.ogg", tone(12.0, 2000), SAMPLE_RATE)  # 2 full + 1 partial
    sf.write(folder / "site_b.wav", tone(5.0, 500, 16000), 16000)  # exactly one window
    return {
        path.name: functools.partial(read_audio, path)
        for path in sorted(folder.iterdir())
    }


PREDICT_PARAMS = {
    "sample_rate": SAMPLE_RATE,
    "window_seconds": 5.0,
    "threads": 1,
    "precision_hint": "f32",
    "batch_size": 2,
}


def test_parity_windows_one_per_recording(cache):
    audio_cache, recordings = cache
    windows = select_parity_windows(recordings, audio_cache, EXPORT_PARAMS)
    assert windows.shape == (3, 5 * SAMPLE_RATE)
    # One species at a time: aaa/1, bbb/3, then aaa/2 (3 s, so zero-padded).
    assert windows[2, 3 * SAMPLE_RATE :].max() == 0.0
    assert windows[1, 3 * SAMPLE_RATE :].max() > 0.0


def test_predict_row_ids_and_columns(model_ir, soundscapes):
    submission = predict_soundscapes(
        model_ir, soundscapes, ["aaa", "bbb"], PREDICT_PARAMS
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


def test_predict_class_count_mismatch_raises(model_ir, soundscapes):
    with pytest.raises(ValueError, match="predicts 2 classes"):
        predict_soundscapes(
            model_ir, soundscapes, ["aaa", "bbb", "ccc"], PREDICT_PARAMS
        )


def test_benchmark_report_projection(model_ir, soundscapes):
    params = {
        **PREDICT_PARAMS,
        "warmup_runs": 1,
        "repeats": 2,
        "projected_audio_minutes": 100,
        "budget_minutes": 60,
    }
    report = benchmark_openvino(model_ir, soundscapes, params)
    assert [row["file"] for row in report["files"]] == ["site_a.ogg", "site_b.wav"]
    assert report["audio_seconds"] == 20.0
    assert report["threads"] == 1
    assert report["precision_hint"] == "f32"
    expected = 100 * report["total_seconds"] / report["audio_seconds"]
    assert report["projection"]["projected_minutes"] == pytest.approx(expected)


def test_benchmark_without_soundscapes_raises(model_ir):
    with pytest.raises(ValueError, match="no test soundscapes"):
        benchmark_openvino(model_ir, {}, {**PREDICT_PARAMS, "threads": 1})


def test_predict_non_finite_names_window(model_ir, soundscapes, monkeypatch):
    import bird_pipeline.pipelines.predict.nodes as predict_nodes

    def nan_logits(compiled, windows, batch_size):
        logits = np.zeros((len(windows), 2), dtype=np.float32)
        logits[-1, 1] = np.nan
        return logits

    monkeypatch.setattr(predict_nodes, "infer_logits", nan_logits)
    with pytest.raises(FloatingPointError, match="window 'site_a_15', class 'bbb'"):
        predict_soundscapes(model_ir, soundscapes, ["aaa", "bbb"], PREDICT_PARAMS)
