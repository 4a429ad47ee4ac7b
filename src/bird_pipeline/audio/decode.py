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
    """A recording that cannot be turned into a usable waveform.

    Args:
        message: What failed, with the file or value.
        reason: Short category for reports: `unreadable`, `empty`,
            `non-finite samples` or `invalid sample rate`.
    """

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a file with soundfile.

    Returns:
        Samples `(frames,)` or `(frames, channels)` as float32, and the sample
        rate in Hz.

    Raises:
        AudioDecodeError: soundfile cannot read the file.
    """
    try:
        samples, sample_rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioDecodeError(f"cannot decode {path}: {exc}") from exc
    return samples, sample_rate


def check_samples(samples: np.ndarray, name: str) -> None:
    """Raise when decoded samples are empty or not finite.

    Raises:
        AudioDecodeError: With reason `empty` or `non-finite samples`.
    """
    if samples.size == 0:
        raise AudioDecodeError(f"{name} decodes to zero samples", reason="empty")
    if not np.isfinite(samples).all():
        raise AudioDecodeError(
            f"{name} contains NaN or infinite samples", reason="non-finite samples"
        )


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
        raise AudioDecodeError(
            f"invalid sample rate {source_rate} Hz", reason="invalid sample rate"
        )
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
        AudioDecodeError: The file is unreadable, contains no samples or contains
            non-finite samples.
    """
    samples, source_rate = read_audio(path)
    check_samples(samples, str(path))
    return to_mono_at_rate(samples, source_rate, sample_rate)
