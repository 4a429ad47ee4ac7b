"""Waveform augmentations and batch mixing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bird_pipeline.audio.augment import (
    AugmentConfig,
    add_noise_at_snr,
    apply_gain,
    apply_gain_transition,
    augment_waveform,
    pink_noise,
)
from bird_pipeline.training.mixing import mix_batch

ALL_OFF = dict(
    gain_prob=0.0,
    gain_db=(-12.0, 12.0),
    gain_transition_prob=0.0,
    gaussian_noise_prob=0.0,
    pink_noise_prob=0.0,
    noise_snr_db=(5.0, 20.0),
    time_shift_prob=0.0,
)


def rms(clip: np.ndarray) -> float:
    return float(np.sqrt(np.mean(clip.astype(np.float64) ** 2)))


@pytest.fixture
def clip() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(32000)).astype(np.float32)


def test_gain_scales_by_decibels(clip):
    assert rms(apply_gain(clip, 20.0)) == pytest.approx(10 * rms(clip), rel=1e-5)


def test_gain_transition_ramps(clip):
    ones = np.ones(1000, dtype=np.float32)
    ramp = apply_gain_transition(ones, 0.0, -20.0)
    assert ramp[0] == pytest.approx(1.0)
    assert ramp[-1] == pytest.approx(0.1, rel=1e-4)


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_noise_added_at_requested_snr(clip, snr_db):
    rng = np.random.default_rng(1)
    noisy = add_noise_at_snr(clip, pink_noise(len(clip), rng), snr_db)
    measured = 20 * np.log10(rms(clip) / rms(noisy - clip))
    assert measured == pytest.approx(snr_db, abs=0.01)


def test_pink_noise_falls_with_frequency():
    noise = pink_noise(2**16, np.random.default_rng(2))
    power = np.abs(np.fft.rfft(noise)) ** 2
    low = power[10:100].mean()
    high = power[10000:20000].mean()
    assert low > 20 * high


def test_augment_keeps_shape_and_finite_on_silence():
    config = AugmentConfig(
        **{
            **ALL_OFF,
            "gain_prob": 1.0,
            "gaussian_noise_prob": 1.0,
            "pink_noise_prob": 1.0,
            "time_shift_prob": 1.0,
            "gain_transition_prob": 1.0,
        }
    )
    out = augment_waveform(
        np.zeros(16000, np.float32), config, np.random.default_rng(3)
    )
    assert out.shape == (16000,)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()


def test_augment_all_off_is_identity(clip):
    out = augment_waveform(clip, AugmentConfig(**ALL_OFF), np.random.default_rng(4))
    np.testing.assert_array_equal(out, clip)


def test_gain_applied_at_its_probability(clip):
    config = AugmentConfig(**{**ALL_OFF, "gain_prob": 0.3})
    rng = np.random.default_rng(5)
    changed = [
        not np.array_equal(augment_waveform(clip[:100], config, rng), clip[:100])
        for _ in range(2000)
    ]
    assert np.mean(changed) == pytest.approx(0.3, abs=0.04)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"gain_prob": 1.5}, "gain_prob must be in"),
        ({"noise_snr_db": (20.0, 5.0)}, "low, high"),
    ],
)
def test_augment_config_rejects(override, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**{**ALL_OFF, **override})


def test_augment_config_from_yaml_lists():
    config = AugmentConfig.from_params({**ALL_OFF, "gain_db": [-3.0, 3.0]})
    assert config.gain_db == (-3.0, 3.0)


def test_mix_batch_unites_labels():
    torch.manual_seed(0)
    waveform = torch.eye(4)  # clip i is a unit impulse at sample i
    targets = torch.eye(4) * torch.tensor([1.0, 0.9, 1.0, 0.9])
    mixed_waveform, mixed_targets = mix_batch(waveform, targets, prob=1.0, max_clips=3)
    assert mixed_targets.max() <= 1.0
    for row in range(4):
        sources = torch.nonzero(mixed_waveform[row]).flatten().tolist()
        assert row in sources
        assert (
            2 <= len(sources) <= 3 or mixed_waveform[row].max() > 1.0
        )  # repeat partner
        for source in sources:
            assert mixed_targets[row, source] == targets[source, source]


def test_mix_batch_prob_zero_is_identity():
    waveform = torch.randn(5, 100)
    targets = torch.rand(5, 3)
    mixed_waveform, mixed_targets = mix_batch(waveform, targets, prob=0.0, max_clips=2)
    torch.testing.assert_close(mixed_waveform, waveform)
    torch.testing.assert_close(mixed_targets, targets)


def test_mix_batch_rejects_four_clips():
    with pytest.raises(ValueError, match="must be 2 or 3"):
        mix_batch(torch.zeros(2, 4), torch.zeros(2, 2), prob=1.0, max_clips=4)
