"""Pipeline nodes on small generated inputs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch

from bird_pipeline.datasets import (
    AudioCacheDataset,
    AudioFile,
    AudioFolderDataset,
    ExportedModelsDataset,
    IRLoader,
    OpenVINOModelDataset,
)
from bird_pipeline.export import convert_openvino_model, prepare_for_export
from bird_pipeline.models import build_classifier
from bird_pipeline.models.presets import ModelPreset
from bird_pipeline.pipelines.export.nodes import convert_openvino, select_parity_windows
from bird_pipeline.pipelines.predict.nodes import parse_presets, predict_soundscapes
from bird_pipeline.pipelines.preprocess.nodes import (
    build_class_lists,
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
EXPORT_PARAMS = {
    "sample_rate": SAMPLE_RATE,
    "window_seconds": 5.0,
    "parity_windows": 4,
    "max_batch": 64,
    "precision_hint": "f32",
    "parity_atol": {"onnxruntime": 1e-4, "openvino_fp32": 1e-4, "openvino_fp16": 5e-3},
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
def decoded(raw_folder):
    root, metadata = raw_folder
    recordings = validate_metadata_node(metadata)
    train_audio = AudioFolderDataset(str(root / "train_audio")).load()
    params = {"sample_rate": SAMPLE_RATE, "max_skipped": 5}
    return decode_recordings(recordings, train_audio, params)


def test_decode_reports_bad_recordings(decoded):
    waveforms, recordings, bad = decoded
    assert sorted(waveforms) == ["aaa/1.ogg", "aaa/2.wav", "bbb/3.flac"]
    assert bad.set_index("recording_id")["stage"].to_dict() == {
        "bbb/4.ogg": "decode",
        "bbb/5.ogg": "metadata",
    }
    assert bad.set_index("recording_id")["reason"].to_dict() == {
        "bbb/4.ogg": "unreadable",
        "bbb/5.ogg": "file not found",
    }
    assert recordings["duration_seconds"].round(3).tolist() == [6.0, 3.0, 7.0]
    assert waveforms["aaa/2.wav"].ndim == 1


def test_decode_too_many_skips_raises(raw_folder):
    root, metadata = raw_folder
    recordings = validate_metadata_node(metadata)
    train_audio = AudioFolderDataset(str(root / "train_audio")).load()
    with pytest.raises(RuntimeError, match="raise preprocess.max_skipped"):
        decode_recordings(
            recordings, train_audio, {"sample_rate": SAMPLE_RATE, "max_skipped": 1}
        )


def test_class_lists_keep_classes_without_audio(decoded):
    _, recordings, _ = decoded
    taxonomy = pd.DataFrame({"primary_label": ["bbb", "aaa", "zzz"]})
    pretrain, train = build_class_lists(recordings, taxonomy, pd.DataFrame())
    assert pretrain == ["aaa", "bbb"]
    assert train == ["bbb", "aaa", "zzz"]


@pytest.fixture
def cache(tmp_path, decoded):
    waveforms, recordings, _ = decoded
    dataset = AudioCacheDataset(str(tmp_path / "cache"))
    dataset.save(waveforms)
    return dataset.load(), recordings


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


def test_parity_windows_one_per_recording(cache):
    audio_cache, recordings = cache
    windows = select_parity_windows(recordings, audio_cache, EXPORT_PARAMS)
    assert windows.shape == (3, 5 * SAMPLE_RATE)
    # One species at a time: aaa/1, bbb/3, then aaa/2 (3 s, so zero-padded).
    assert windows[2, 3 * SAMPLE_RATE :].max() == 0.0
    assert windows[1, 3 * SAMPLE_RATE :].max() > 0.0


def test_predict_row_ids_and_columns(exported_models, soundscapes):
    submission = predict_soundscapes(
        exported_models, soundscapes, ["aaa", "bbb"], "test_cnn", PREDICT_PARAMS
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


def test_predict_class_count_mismatch_raises(exported_models, soundscapes):
    with pytest.raises(ValueError, match="predicts 2 classes"):
        predict_soundscapes(
            exported_models,
            soundscapes,
            ["aaa", "bbb", "ccc"],
            "test_cnn",
            PREDICT_PARAMS,
        )


def test_parse_presets_forms():
    assert parse_presets(["a", "b"], "m") == ["a", "b"]
    assert parse_presets("a  b", "m") == ["a", "b"]
    assert parse_presets([], "m") == ["m"]
    assert parse_presets(None, "m") == ["m"]
    assert parse_presets("", "") == []


def test_predict_missing_preset_raises(exported_models, soundscapes):
    params = {**PREDICT_PARAMS, "presets": ["test_cnn", "cnn_b0ns"]}
    with pytest.raises(ValueError, match=r"presets \['cnn_b0ns'\]"):
        predict_soundscapes(
            exported_models, soundscapes, ["aaa", "bbb"], "test_cnn", params
        )


def test_predict_ensemble_averages_members(
    exported_models, soundscapes, initial, tmp_path
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
            members, soundscapes, ["aaa", "bbb"], name, PREDICT_PARAMS
        )
        for name in members
    }
    ensemble = predict_soundscapes(
        members,
        soundscapes,
        ["aaa", "bbb"],
        "first",
        {**PREDICT_PARAMS, "presets": ["first", "second"]},
    )
    expected = (single["first"][["aaa", "bbb"]] + single["second"][["aaa", "bbb"]]) / 2
    np.testing.assert_allclose(ensemble[["aaa", "bbb"]], expected, atol=1e-6)


def test_predict_non_finite_names_window(exported_models, soundscapes, monkeypatch):
    import bird_pipeline.pipelines.predict.nodes as predict_nodes

    def nan_logits(compiled, windows, batch_size):
        logits = np.zeros((len(windows), 2), dtype=np.float32)
        logits[-1, 1] = np.nan
        return logits

    monkeypatch.setattr(predict_nodes, "infer_logits", nan_logits)
    # Windows stream in blocks of batch_size 2: the first NaN is window 2.
    with pytest.raises(FloatingPointError, match="window 'site_a_10', class 'bbb'"):
        predict_soundscapes(
            exported_models, soundscapes, ["aaa", "bbb"], "test_cnn", PREDICT_PARAMS
        )
