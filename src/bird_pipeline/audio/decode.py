"""Decode recordings with soundfile into mono float32 waveforms at one sample rate."""

from __future__ import annotations

import logging
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

logger = logging.getLogger(__name__)


class AudioDecodeError(ValueError):
    """A recording that cannot be turned into a usable waveform."""


def to_mono_at_rate(
    samples: np.ndarray, source_rate: int, sample_rate: int
) -> np.ndarray:
    """Downmix to mono and resample with a polyphase filter.

    Args:
        samples: `(frames,)` or `(frames, channels)` as soundfile returns them.
        source_rate: Sample rate of `samples` in Hz.
        sample_rate: Target sample rate in Hz.

    Returns:
        Waveform `(time,)`, float32.
    """
    if source_rate <= 0:
        raise AudioDecodeError(f"invalid sample rate {source_rate} Hz")
    waveform = samples.astype(np.float32, copy=False)
    if waveform.ndim == 2:  # (frames, channels) -> (frames,)
        waveform = waveform.mean(axis=1)
    if source_rate != sample_rate:
        divisor = gcd(source_rate, sample_rate)
        waveform = resample_poly(
            waveform, sample_rate // divisor, source_rate // divisor
        ).astype(np.float32)
    return waveform


def decode_file(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read one recording in any format soundfile reads (ogg, mp3, flac, wav).

    Args:
        path: Audio file.
        sample_rate: Target sample rate in Hz.

    Returns:
        Mono waveform `(time,)`, float32, at `sample_rate`.

    Raises:
        AudioDecodeError: The file is unreadable, holds no samples or holds
            non-finite samples.
    """
    try:
        samples, source_rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioDecodeError(f"cannot decode {path}: {exc}") from exc
    if samples.size == 0:
        raise AudioDecodeError(f"{path} decodes to zero samples")
    if not np.isfinite(samples).all():
        raise AudioDecodeError(f"{path} contains NaN or infinite samples")
    return to_mono_at_rate(samples, source_rate, sample_rate)
