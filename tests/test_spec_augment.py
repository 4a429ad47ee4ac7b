"""Spectrogram augmentations and Beta mixup on mel batches."""

from __future__ import annotations

import pytest
import torch

from bird_pipeline.training.mixing import mixup_spectrograms
from bird_pipeline.training.spec_augment import (
    SpecAugmentConfig,
    augment_spectrogram,
    freq_ramp,
    mask_axis,
)

ALL_OFF = dict(
    time_mask_prob=0.0,
    time_masks=2,
    time_mask_max_fraction=0.1,
    freq_mask_prob=0.0,
    freq_masks=2,
    freq_mask_max_fraction=0.1,
    freq_ramp_prob=0.0,
    freq_ramp_min_gain=0.3,
)
MEL_SHAPE = (4, 2, 1, 64, 100)  # batch, parts, channels, mels, frames


@pytest.fixture(autouse=True)
def seeded() -> None:
    torch.manual_seed(0)


def ones_mel(batch: int = 4) -> torch.Tensor:
    return torch.ones(batch, *MEL_SHAPE[1:])


def test_all_off_is_identity():
    mel = torch.rand(MEL_SHAPE)
    out = augment_spectrogram(mel, SpecAugmentConfig(**ALL_OFF))
    torch.testing.assert_close(out, mel)


def test_time_mask_zeroes_whole_frames():
    out = mask_axis(ones_mel(), -1, prob=1.0, masks=2, max_fraction=0.2)
    assert out.shape == MEL_SHAPE
    # A masked frame is zero across every mel bin and channel of its part.
    per_frame = out.amax(dim=(2, 3))  # (batch, parts, frames)
    assert torch.equal(per_frame, out.amin(dim=(2, 3)))
    masked = (per_frame == 0).sum(dim=-1)
    assert masked.max() <= 2 * 20
    assert masked.sum() > 0


def test_freq_mask_zeroes_whole_bins():
    out = mask_axis(ones_mel(), -2, prob=1.0, masks=1, max_fraction=0.25)
    per_bin = out.amax(dim=(2, 4))  # (batch, parts, mels)
    assert torch.equal(per_bin, out.amin(dim=(2, 4)))
    assert (per_bin == 0).sum(dim=-1).max() <= 16


def test_mask_applied_at_its_probability():
    mel = torch.ones(2000, 1, 1, 8, 50)
    out = mask_axis(mel, -1, prob=0.3, masks=1, max_fraction=0.5)
    touched = (out == 0).flatten(1).any(dim=1).float().mean().item()
    # A drawn width of 0 leaves a chosen part unmasked: 1 in 26 here.
    assert touched == pytest.approx(0.3 * 25 / 26, abs=0.04)


def test_mask_does_not_modify_input():
    mel = ones_mel()
    mask_axis(mel, -1, prob=1.0, masks=2, max_fraction=0.2)
    assert torch.equal(mel, ones_mel())


def test_freq_ramp_attenuates_top_bins_only():
    out = freq_ramp(ones_mel(2000), prob=1.0, min_gain=0.3)
    gains = out[:, 0, 0, :, 0]  # (batch, mels)
    assert torch.all(gains[:, 0] == 1.0)
    assert torch.all(gains <= 1.0)
    assert torch.all(gains[:, -1] >= 0.3 - 1e-6)
    # The gain never rises towards the top.
    assert torch.all(gains[:, 1:] <= gains[:, :-1] + 1e-6)
    assert gains[:, -1].min() < 0.35


def test_freq_ramp_applied_at_its_probability():
    out = freq_ramp(ones_mel(2000), prob=0.3, min_gain=0.3)
    per_part = out.flatten(0, 1).flatten(1)  # each 5 s part is drawn on its own
    touched = (per_part < 1.0).any(dim=1).float().mean().item()
    assert touched == pytest.approx(0.3, abs=0.04)


def test_augment_keeps_range_and_finite():
    config = SpecAugmentConfig(
        **{
            **ALL_OFF,
            "time_mask_prob": 1.0,
            "freq_mask_prob": 1.0,
            "freq_ramp_prob": 1.0,
        }
    )
    out = augment_spectrogram(torch.rand(MEL_SHAPE), config)
    assert torch.isfinite(out).all()
    assert out.min() >= 0.0
    assert out.max() <= 1.0


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"time_mask_prob": 1.5}, "time_mask_prob must be in"),
        ({"freq_mask_max_fraction": -0.1}, "freq_mask_max_fraction must be in"),
        ({"time_masks": -1}, "mask counts"),
        ({"freq_ramp_min_gain": 0.0}, "freq_ramp_min_gain"),
    ],
)
def test_config_rejects(override, message):
    with pytest.raises(ValueError, match=message):
        SpecAugmentConfig(**{**ALL_OFF, **override})


def test_config_names_unknown_keys():
    with pytest.raises(ValueError, match=r"unknown keys \['p'\]"):
        SpecAugmentConfig.from_params({**ALL_OFF, "p": 0.5})


def test_spec_mixup_blends_mel_targets_and_weights():
    batch = 6
    mel = torch.arange(batch, dtype=torch.float32).reshape(batch, 1, 1, 1, 1)
    mel = mel.expand(batch, 2, 1, 4, 5).clone()
    targets = torch.eye(batch)
    weights = torch.linspace(0.1, 1.0, batch)
    out_mel, out_targets, out_weights = mixup_spectrograms(
        mel, targets, weights, prob=1.0, alpha=0.4
    )
    for row in range(batch):
        # Each row mixes itself with one partner: lam on its own class.
        lam = out_targets[row, row].item()
        partner = [c for c in range(batch) if c != row and out_targets[row, c] > 0]
        assert 0.0 <= lam <= 1.0
        assert len(partner) <= 1
        if partner:
            other = partner[0]
            assert out_targets[row, other] == pytest.approx(1 - lam, abs=1e-6)
            expected = lam * row + (1 - lam) * other
            assert out_mel[row].flatten()[0].item() == pytest.approx(expected, abs=1e-5)
            expected_weight = lam * weights[row] + (1 - lam) * weights[other]
            assert out_weights[row].item() == pytest.approx(expected_weight.item())
        assert out_targets[row].sum().item() == pytest.approx(1.0, abs=1e-6)


def test_spec_mixup_prob_zero_is_identity():
    mel = torch.rand(MEL_SHAPE)
    targets = torch.rand(4, 3)
    weights = torch.rand(4)
    out = mixup_spectrograms(mel, targets, weights, prob=0.0, alpha=0.4)
    for before, after in zip((mel, targets, weights), out, strict=True):
        torch.testing.assert_close(after, before)


def test_spec_mixup_applied_at_its_probability():
    batch = 4000
    # Every clip has its own constant level, so any blend changes it; a clip
    # left alone keeps lam = 1 exactly.
    mel = torch.arange(batch, dtype=torch.float32).reshape(batch, 1, 1, 1, 1)
    out_mel, _, _ = mixup_spectrograms(
        mel, torch.zeros(batch, 2), torch.ones(batch), prob=0.25, alpha=1.0
    )
    mixed = (out_mel != mel).flatten().float()
    assert mixed.mean().item() == pytest.approx(0.25, abs=0.03)


def test_spec_mixup_rejects_bad_alpha():
    with pytest.raises(ValueError, match="spec_mixup_alpha must be positive"):
        mixup_spectrograms(
            torch.zeros(2, 1), torch.zeros(2, 1), torch.ones(2), 1.0, 0.0
        )
