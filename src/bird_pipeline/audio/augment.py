"""Waveform augmentations for training clips, each applied with its own probability.

Each function takes a mono clip `(time,)` float32 and a `numpy.random.Generator`
and returns a new clip of the same length. None of them changes the labels.
Noise levels are set by signal-to-noise ratio in dB against the clip's RMS, so
quiet and loud recordings get the same relative corruption.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import scipy.signal
import torch
import torchaudio.functional

from bird_pipeline.params import check_keys

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
    pitch_shift_prob: float  # shift the pitch, duration unchanged
    pitch_shift_semitones: tuple[float, float]  # pitch shift range in semitones
    background_noise_prob: float  # add a recording from background_noise/
    background_snr_db: tuple[float, float]  # SNR range of the background noise in dB
    # Chance that a background clip is the sum of several chunks of one noise
    # recording ("self-mixup"), which makes sparse noise recordings denser.
    background_self_mix_prob: float
    background_self_mix_chunks: tuple[int, int]  # chunks summed, low and high

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith("_prob") and not 0.0 <= value <= 1.0:
                raise ValueError(f"augment.{field.name} must be in [0, 1], got {value}")
            if isinstance(value, tuple) and not value[0] <= value[1]:
                raise ValueError(
                    f"augment.{field.name} must be [low, high], got {value}"
                )
        if self.background_self_mix_chunks[0] < 1:
            raise ValueError(
                f"augment.background_self_mix_chunks must start at 1 or more, "
                f"got {self.background_self_mix_chunks}"
            )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> AugmentConfig:
        """Build the config from the `augment` block; ranges come as two-item lists."""
        check_keys(cls, params, "training.augment")
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


def pitch_shift(
    clip: np.ndarray, semitones: float, n_fft: int = 1024, hop_length: int = 256
) -> np.ndarray:
    """Shift the pitch by `semitones` and keep the duration.

    A phase vocoder stretches the clip by the pitch factor, and an FFT resampler
    brings it back to its length, which scales every frequency by that factor.
    The phase vocoder loses up to about 4 dB on noise-like audio, so the result
    is scaled back to the input's RMS. This costs about 20 ms per 10 s clip,
    where torchaudio's `pitch_shift` takes up to a second for fractional
    semitones (torchaudio 2.11, 2 cores).
    """
    factor = 2.0 ** (semitones / 12.0)
    if math.isclose(factor, 1.0) or len(clip) < n_fft:
        return np.asarray(clip, dtype=np.float32).copy()
    window = torch.hann_window(n_fft)
    spectrum = torch.stft(
        torch.from_numpy(np.asarray(clip, dtype=np.float32)),
        n_fft,
        hop_length,
        window=window,
        return_complex=True,
    )
    phase_advance = torch.linspace(0, math.pi * hop_length, n_fft // 2 + 1)[:, None]
    # rate < 1 slows down: the stretched clip is `factor` times longer.
    stretched = torchaudio.functional.phase_vocoder(
        spectrum, 1.0 / factor, phase_advance
    )
    longer = torch.istft(
        stretched, n_fft, hop_length, window=window, length=round(len(clip) * factor)
    )
    shifted = scipy.signal.resample(longer.numpy(), len(clip))
    return (shifted * (_rms(clip) / _rms(shifted))).astype(np.float32)


def tile_crop(
    waveform: np.ndarray, length: int, rng: np.random.Generator
) -> np.ndarray:
    """Cut a random `length`-sample crop; a shorter waveform is repeated to fill it."""
    waveform = np.asarray(waveform, dtype=np.float32)
    if len(waveform) < length:
        waveform = np.tile(waveform, -(-length // len(waveform)))
    start = int(rng.integers(0, len(waveform) - length + 1))
    return np.array(waveform[start : start + length], dtype=np.float32)


def background_clip(
    noise_bank: Mapping[str, np.ndarray],
    noise_ids: Sequence[str],
    length: int,
    chunks: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw one noise recording and sum `chunks` random crops of it.

    One chunk is a plain crop; several chunks of the same recording summed
    ("self-mixup") give denser background than any single crop.
    """
    noise = noise_bank[noise_ids[int(rng.integers(0, len(noise_ids)))]]
    out = np.zeros(length, dtype=np.float32)
    for _ in range(chunks):
        out += tile_crop(noise, length, rng)
    return out


def augment_waveform(
    clip: np.ndarray,
    config: AugmentConfig,
    rng: np.random.Generator,
    noise_bank: Mapping[str, np.ndarray] | None = None,
    noise_ids: Sequence[str] = (),
) -> np.ndarray:
    """Apply each augmentation with its probability, in a fixed order.

    Order: time shift, pitch shift, gain or gain transition, background noise,
    then gaussian and pink noise, so the noise levels follow the final loudness
    of the call.

    Args:
        clip: `(time,)` mono waveform.
        config: Probabilities and ranges.
        rng: Source of every random draw.
        noise_bank: Background noise waveforms keyed by id. With no noise bank,
            or an empty one, background-noise mixing is skipped.
        noise_ids: Keys of `noise_bank` to draw from, sorted; computed from the
            bank when empty (pass them to save the sort on every clip).
    """
    out = np.asarray(clip, dtype=np.float32)
    if rng.random() < config.time_shift_prob:
        out = np.roll(out, int(rng.integers(0, len(out))))
    if rng.random() < config.pitch_shift_prob:
        out = pitch_shift(out, rng.uniform(*config.pitch_shift_semitones))
    if rng.random() < config.gain_prob:
        out = apply_gain(out, rng.uniform(*config.gain_db))
    if rng.random() < config.gain_transition_prob:
        out = apply_gain_transition(
            out, rng.uniform(*config.gain_db), rng.uniform(*config.gain_db)
        )
    if noise_bank and rng.random() < config.background_noise_prob:
        chunks = 1
        if rng.random() < config.background_self_mix_prob:
            low, high = config.background_self_mix_chunks
            chunks = int(rng.integers(low, high + 1))
        ids = noise_ids or sorted(noise_bank)
        noise = background_clip(noise_bank, ids, len(out), chunks, rng)
        out = add_noise_at_snr(out, noise, rng.uniform(*config.background_snr_db))
    if rng.random() < config.gaussian_noise_prob:
        noise = rng.standard_normal(len(out)).astype(np.float32)
        out = add_noise_at_snr(out, noise, rng.uniform(*config.noise_snr_db))
    if rng.random() < config.pink_noise_prob:
        out = add_noise_at_snr(
            out, pink_noise(len(out), rng), rng.uniform(*config.noise_snr_db)
        )
    return out
