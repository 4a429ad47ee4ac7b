"""Checkpoints: chaining weights between stages and loading them safely."""

from __future__ import annotations

import pytest
import torch
from kedro.io.core import Version

from bird_pipeline.datasets import TorchCheckpointDataset
from bird_pipeline.models import build_classifier
from bird_pipeline.training.checkpoint import (
    backbone_digest,
    load_backbone,
    make_checkpoint,
    model_from_checkpoint,
)


def test_reinit_head_loads_every_backbone_key(small_preset):
    source = build_classifier(small_preset, num_classes=7)
    target = build_classifier(small_preset, num_classes=3)
    load_backbone(target, source.state_dict(), reinit_head=True)
    assert backbone_digest(target) == backbone_digest(source)
    assert target.head.classifier.out_features == 3


def test_class_change_without_reinit_raises(small_preset):
    source = build_classifier(small_preset, num_classes=7)
    target = build_classifier(small_preset, num_classes=3)
    with pytest.raises(RuntimeError, match="reinit_head: true"):
        load_backbone(target, source.state_dict(), reinit_head=False)


def test_missing_backbone_key_raises(small_preset):
    source = build_classifier(small_preset, num_classes=3)
    state = source.state_dict()
    removed = next(key for key in state if key.startswith("encoder."))
    del state[removed]
    target = build_classifier(small_preset, num_classes=3)
    with pytest.raises(RuntimeError, match="backbone weights failed to load"):
        load_backbone(target, state, reinit_head=True)


def test_other_preset_backbone_raises(small_preset):
    other = small_preset.__class__(**{**small_preset.__dict__, "encoder": "resnet14t"})
    source = build_classifier(other, num_classes=3)
    target = build_classifier(small_preset, num_classes=3)
    with pytest.raises(RuntimeError, match="checkpoint"):
        load_backbone(target, source.state_dict(), reinit_head=True)


def test_checkpoint_round_trip_weights_only(tmp_path, small_preset):
    model = build_classifier(small_preset, num_classes=4).eval()
    checkpoint = make_checkpoint(model, ["a", "b", "c", "d"], stage="train_bce")
    dataset = TorchCheckpointDataset(filepath=str(tmp_path / "train_bce.pt"))
    dataset.save(checkpoint)

    loaded = torch.load(tmp_path / "train_bce.pt", weights_only=True)
    rebuilt = model_from_checkpoint(loaded).eval()
    waveform = torch.randn(2, small_preset.segment_samples)
    with torch.inference_mode():
        torch.testing.assert_close(rebuilt(waveform), model(waveform))
    assert loaded["classes"] == ["a", "b", "c", "d"]
    assert loaded["backbone_sha256"] == backbone_digest(model)


def test_checkpoint_save_is_atomic(tmp_path, small_preset):
    dataset = TorchCheckpointDataset(filepath=str(tmp_path / "stage.pt"))
    with pytest.raises(Exception):
        dataset.save({"not_serialisable": lambda: None})
    assert list(tmp_path.iterdir()) == []


def test_missing_checkpoint_names_fix(tmp_path):
    from kedro.io.core import DatasetError, Version

    dataset = TorchCheckpointDataset(
        filepath=str(tmp_path / "finetune.pt"), version=Version(None, None)
    )
    with pytest.raises(DatasetError, match="run the pipeline that writes it first"):
        dataset.load()


def test_saved_checkpoint_follows_umask(tmp_path, small_preset):
    import os
    import stat

    model = build_classifier(small_preset, num_classes=2)
    dataset = TorchCheckpointDataset(filepath=str(tmp_path / "stage.pt"))
    old_umask = os.umask(0o022)
    try:
        dataset.save(make_checkpoint(model, ["a", "b"], stage="pretrain_ce"))
    finally:
        os.umask(old_umask)
    mode = stat.S_IMODE((tmp_path / "stage.pt").stat().st_mode)
    assert mode == 0o644


def test_checkpoint_exists_after_first_version(tmp_path):
    path = str(tmp_path / "train_bce.pt")
    assert not TorchCheckpointDataset(path, version=Version(None, None)).exists()
    TorchCheckpointDataset(path, version=Version(None, None)).save({"stage": "x"})
    assert TorchCheckpointDataset(path, version=Version(None, None)).exists()
