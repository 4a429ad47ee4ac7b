"""Presets, heads and the waveform-to-logits classifier."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import yaml

from bird_pipeline.models import build_classifier, resolve_preset
from bird_pipeline.models.heads import CNNHead, SEDHead
from bird_pipeline.models.pooling import GeM
from tests.conftest import PROJECT_ROOT

PRESET_NAMES = [
    "sed_v2s",
    "sed_b3ns",
    "sed_seresnext26t",
    "cnn_v2s",
    "cnn_resnet34d",
    "cnn_b3ns",
    "cnn_b0ns",
]


@pytest.fixture(scope="module")
def presets() -> dict:
    parameters = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters.yml").read_text())
    return parameters["presets"]


def test_all_seven_presets_configured(presets):
    assert sorted(presets) == sorted(PRESET_NAMES)


def test_unknown_preset_lists_choices(presets):
    with pytest.raises(KeyError, match="cnn_b0ns"):
        resolve_preset("cnn_b9", presets)


def test_preset_missing_field_raises(presets):
    broken = {
        "cnn_b0ns": {k: v for k, v in presets["cnn_b0ns"].items() if k != "n_mels"}
    }
    with pytest.raises(ValueError, match="missing fields \\['n_mels'\\]"):
        resolve_preset("cnn_b0ns", broken)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_forward_on_waveforms(presets, name):
    preset = resolve_preset(name, presets)
    model = build_classifier(preset, num_classes=5).eval()
    waveform = 0.1 * torch.randn(2, 2 * preset.segment_samples)  # 10 s clips, 2 parts
    with torch.inference_mode():
        outputs = model.forward_outputs(waveform)
    assert outputs["logits"].shape == (2, 5)
    assert torch.isfinite(outputs["logits"]).all()
    if preset.head == "sed":
        assert outputs["frame_logits"].shape[:2] == (2, 5)


def test_clip_parts_match_single_segments(small_preset):
    model = build_classifier(small_preset, num_classes=3).eval()
    segment = small_preset.segment_samples
    clip = 0.1 * torch.randn(1, 2 * segment)
    with torch.inference_mode():
        joined = model.forward_features(clip)
        first = model.forward_features(clip[:, :segment])
        second = model.forward_features(clip[:, segment:])
    torch.testing.assert_close(joined, torch.cat([first, second], dim=-1))


def test_waveform_not_whole_segments_raises(small_preset):
    model = build_classifier(small_preset, num_classes=3)
    with pytest.raises(ValueError, match="not a multiple"):
        model(torch.zeros(1, small_preset.segment_samples + 1))


def test_gem_p1_is_average_pooling():
    features = torch.rand(2, 4, 3, 5) + 0.1
    gem = GeM(p=1.0)
    torch.testing.assert_close(gem(features), features.mean(dim=(-2, -1)))


def test_sed_clip_logits_are_attention_weighted():
    head = SEDHead(in_features=8, num_classes=3, drop_rate=0.0).eval()
    outputs = head(torch.rand(2, 8, 4, 6))
    frame_logits = outputs["frame_logits"]
    assert frame_logits.shape == (2, 3, 6)
    low = frame_logits.amin(dim=-1)
    high = frame_logits.amax(dim=-1)
    assert torch.all(outputs["logits"] >= low - 1e-5)
    assert torch.all(outputs["logits"] <= high + 1e-5)


def test_pretrained_without_hub_names_fix(presets, tmp_path):
    preset = resolve_preset("cnn_b0ns", presets)
    with pytest.raises(RuntimeError, match="pretrained_file"):
        build_classifier(
            preset,
            3,
            pretrained=True,
            pretrained_file=str(tmp_path / "none.safetensors"),
        )


def test_pretrained_offline_hub_names_fix(presets):
    preset = resolve_preset("cnn_b0ns", presets)
    with pytest.raises(RuntimeError, match="pretrained: false"):
        build_classifier(preset, 3, pretrained=True)


def test_forward_mel_matches_forward(small_preset):
    model = build_classifier(small_preset, num_classes=3).eval()
    waveform = 0.1 * torch.randn(2, 2 * small_preset.segment_samples)
    with torch.inference_mode():
        mel = model.compute_mel(waveform)
        from_mel = model.forward_mel(mel)["logits"]
        direct = model(waveform)
    assert mel.shape[:3] == (2, 2, 1)
    assert mel.shape[3] == small_preset.n_mels
    torch.testing.assert_close(from_mel, direct)


def test_multi_sample_dropout_averages_masks(small_preset):
    preset = dataclasses.replace(small_preset, drop_rate=0.5, dropout_samples=8)
    torch.manual_seed(0)
    head = CNNHead(16, 3, drop_rate=0.5, dropout_samples=8)
    features = torch.rand(4, 16, 2, 5)
    head.train()
    pooled = head.pool(features)
    torch.manual_seed(1)
    logits = head(features)["logits"]
    torch.manual_seed(1)
    expected = torch.stack(
        [head.classifier(head.dropout(pooled)) for _ in range(8)]
    ).mean(dim=0)
    torch.testing.assert_close(logits, expected)
    # In eval mode dropout is gone: one deterministic pass.
    head.eval()
    torch.testing.assert_close(head(features)["logits"], head.classifier(pooled))
    assert build_classifier(preset, num_classes=3).head.dropout_samples == 8


def test_cnn_presets_use_multi_sample_dropout(presets):
    for name in PRESET_NAMES:
        preset = resolve_preset(name, presets)
        if preset.head == "cnn":
            assert preset.dropout_samples > 1, name


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"head": "sed", "dropout_samples": 4}, "1 for SED heads"),
        ({"dropout_samples": 0}, "dropout_samples must be 1 or more"),
        ({"shift_seconds": 5.0}, "shift_seconds must be in"),
    ],
)
def test_preset_rejects(small_preset, override, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(small_preset, **override)
