"""Waveform augmentations and batch mixing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bird_pipeline.audio import augment
from bird_pipeline.audio.augment import (
    AugmentConfig,
    add_noise_at_snr,
    apply_gain,
    apply_gain_transition,
    augment_waveform,
    background_clip,
    pink_noise,
    pitch_shift,
)
from bird_pipeline.training.mixing import mix_batch

SAMPLE_RATE = 32000

ALL_OFF = dict(
    gain_prob=0.0,
    gain_db=(-12.0, 12.0),
    gain_transition_prob=0.0,
    gaussian_noise_prob=0.0,
    pink_noise_prob=0.0,
    noise_snr_db=(5.0, 20.0),
    time_shift_prob=0.0,
    pitch_shift_prob=0.0,
    pitch_shift_semitones=(-2.0, 2.0),
    background_noise_prob=0.0,
    background_snr_db=(3.0, 30.0),
    background_self_mix_prob=0.0,
    background_self_mix_chunks=(2, 3),
)
ALL_ON = {
    key: 1.0 if key.endswith("_prob") else value for key, value in ALL_OFF.items()
}


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
    noise_bank = {"silent": np.zeros(8000, np.float32)}
    out = augment_waveform(
        np.zeros(16000, np.float32),
        AugmentConfig(**ALL_ON),
        np.random.default_rng(3),
        noise_bank,
    )
    assert out.shape == (16000,)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()


def dominant_hz(clip: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(clip * np.hanning(len(clip))))
    return float(np.argmax(spectrum) * SAMPLE_RATE / len(clip))


@pytest.mark.parametrize("semitones", [-2.0, 1.5, 2.0])
def test_pitch_shift_moves_tone(semitones):
    seconds = np.arange(SAMPLE_RATE * 2) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 2000.0 * seconds).astype(np.float32)
    shifted = pitch_shift(tone, semitones)
    assert shifted.shape == tone.shape
    assert shifted.dtype == np.float32
    expected_hz = 2000.0 * 2 ** (semitones / 12)
    assert dominant_hz(shifted) == pytest.approx(expected_hz, abs=5.0)


def test_pitch_shift_keeps_level_and_silence():
    rng = np.random.default_rng(6)
    clip = (0.1 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    assert rms(pitch_shift(clip, 1.0)) == pytest.approx(rms(clip), rel=1e-3)
    silent = pitch_shift(np.zeros(SAMPLE_RATE, np.float32), 1.0)
    assert np.isfinite(silent).all()
    assert np.abs(silent).max() == 0.0


def test_background_noise_added_at_snr(clip):
    noise = (np.random.default_rng(7).standard_normal(5000)).astype(np.float32)
    config = AugmentConfig(
        **{**ALL_OFF, "background_noise_prob": 1.0, "background_snr_db": (10.0, 10.0)}
    )
    noisy = augment_waveform(clip, config, np.random.default_rng(8), {"rain": noise})
    measured = 20 * np.log10(rms(clip) / rms(noisy - clip))
    assert measured == pytest.approx(10.0, abs=0.01)


def test_background_noise_skipped_without_bank(clip):
    config = AugmentConfig(**{**ALL_OFF, "background_noise_prob": 1.0})
    out = augment_waveform(clip, config, np.random.default_rng(9), {})
    np.testing.assert_array_equal(out, clip)


def test_self_mix_sums_chunks_of_one_recording():
    # Two noise recordings of distinct constant levels: a self-mixed clip of
    # three chunks from the level-3 recording is 9 everywhere.
    bank = {"a": np.full(100, 1.0, np.float32), "b": np.full(100, 3.0, np.float32)}
    rng = np.random.default_rng(10)
    for _ in range(20):
        mixed = background_clip(bank, ["a", "b"], 250, chunks=3, rng=rng)
        assert mixed.shape == (250,)
        assert set(np.unique(mixed).tolist()) <= {3.0, 9.0}
        assert np.unique(mixed).size == 1


def test_self_mix_applied_at_its_probability(monkeypatch, clip):
    chunk_counts = []

    def record_chunks(noise_bank, noise_ids, length, chunks, rng):
        chunk_counts.append(chunks)
        return np.ones(length, np.float32)

    monkeypatch.setattr(augment, "background_clip", record_chunks)
    config = AugmentConfig(
        **{**ALL_OFF, "background_noise_prob": 1.0, "background_self_mix_prob": 0.4}
    )
    rng = np.random.default_rng(11)
    for _ in range(2000):
        augment_waveform(clip[:64], config, rng, {"rain": np.ones(10, np.float32)})
    counts = np.asarray(chunk_counts)
    assert len(counts) == 2000
    assert set(counts.tolist()) == {1, 2, 3}
    assert np.mean(counts > 1) == pytest.approx(0.4, abs=0.04)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"gain_prob": 1.5}, "gain_prob must be in"),
        ({"noise_snr_db": (20.0, 5.0)}, "low, high"),
        ({"pitch_shift_prob": -0.1}, "pitch_shift_prob must be in"),
        ({"background_self_mix_chunks": (0, 2)}, "must start at 1"),
    ],
)
def test_augment_config_rejects(override, message):
    with pytest.raises(ValueError, match=message):
        AugmentConfig(**{**ALL_OFF, **override})


def test_augment_config_from_yaml_lists():
    config = AugmentConfig.from_params({**ALL_OFF, "gain_db": [-3.0, 3.0]})
    assert config.gain_db == (-3.0, 3.0)


def test_augment_config_names_missing_keys():
    params = {key: value for key, value in ALL_OFF.items() if key != "gain_prob"}
    with pytest.raises(ValueError, match=r"missing keys \['gain_prob'\]"):
        AugmentConfig.from_params({**params, "gain_probability": 0.1})


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
