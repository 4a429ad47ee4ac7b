"""Waveform augmentations for training clips, each applied with its own probability.

Each function takes a mono clip `(time,)` float32 and a `numpy.random.Generator`
and returns a new clip of the same length. None of them changes the labels.
Noise levels are set by signal-to-noise ratio in dB against the clip's RMS, so
quiet and loud recordings get the same relative corruption.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

_RMS_FLOOR = 1e-8  # keeps the SNR arithmetic finite on silent clips


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the waveform augmentations."""

    gain_prob: float  # apply a constant gain
    gain_db: tuple[float, float]  # gain range in dB
    gain_transition_prob: float  # fade linearly between two gains across the clip
    gaussian_noise_prob: float  # add white noise
    pink_noise_prob: float  # add 1/f noise
    noise_snr_db: tuple[float, float]  # SNR range of both noises in dB
    time_shift_prob: float  # roll the clip by a random offset (wrapping around)

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_prob") and not 0.0 <= value <= 1.0:
                raise ValueError(f"augment.{field.name} must be in [0, 1], got {value}")
            if isinstance(value, tuple) and not value[0] <= value[1]:
                raise ValueError(
                    f"augment.{field.name} must be [low, high], got {value}"
                )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> AugmentConfig:
        """Build the config from the `augment` block; ranges come as two-item lists."""
        values = {
            key: tuple(value) if isinstance(value, list) else value
            for key, value in params.items()
        }
        return cls(**values)


def _rms(clip: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(clip, dtype=np.float64)))) + _RMS_FLOOR


def apply_gain(clip: np.ndarray, gain_db: float) -> np.ndarray:
    """Scale the clip by `gain_db` decibels."""
    return (clip * 10.0 ** (gain_db / 20.0)).astype(np.float32)


def apply_gain_transition(
    clip: np.ndarray, start_db: float, end_db: float
) -> np.ndarray:
    """Fade the gain linearly from `start_db` to `end_db` across the clip."""
    ramp_db = np.linspace(start_db, end_db, len(clip), dtype=np.float64)
    return (clip * 10.0 ** (ramp_db / 20.0)).astype(np.float32)


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Return unit-RMS 1/f noise `(length,)` shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    frequencies = np.arange(len(spectrum), dtype=np.float64)
    frequencies[0] = 1.0  # no division by zero; the DC bin is removed below
    spectrum = spectrum / np.sqrt(frequencies)
    spectrum[0] = 0.0
    noise = np.fft.irfft(spectrum, n=length)
    return (noise / _rms(noise)).astype(np.float32)


def add_noise_at_snr(clip: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Add `noise` scaled so that the clip-to-noise ratio is `snr_db`."""
    scale = _rms(clip) / (_rms(noise) * 10.0 ** (snr_db / 20.0))
    return (clip + scale * noise).astype(np.float32)


def augment_waveform(
    clip: np.ndarray, config: AugmentConfig, rng: np.random.Generator
) -> np.ndarray:
    """Apply each augmentation with its probability, in a fixed order.

    Order: time shift, gain or gain transition, then gaussian and pink noise,
    so the noise level follows the final loudness of the call.
    """
    out = np.asarray(clip, dtype=np.float32)
    if rng.random() < config.time_shift_prob:
        out = np.roll(out, int(rng.integers(0, len(out))))
    if rng.random() < config.gain_prob:
        out = apply_gain(out, rng.uniform(*config.gain_db))
    if rng.random() < config.gain_transition_prob:
        out = apply_gain_transition(
            out, rng.uniform(*config.gain_db), rng.uniform(*config.gain_db)
        )
    if rng.random() < config.gaussian_noise_prob:
        noise = rng.standard_normal(len(out)).astype(np.float32)
        out = add_noise_at_snr(out, noise, rng.uniform(*config.noise_snr_db))
    if rng.random() < config.pink_noise_prob:
        out = add_noise_at_snr(
            out, pink_noise(len(out), rng), rng.uniform(*config.noise_snr_db)
        )
    return out
