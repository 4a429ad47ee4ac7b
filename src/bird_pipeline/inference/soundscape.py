"""Decode a soundscape into the 5 s windows that BirdCLEF scores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bird_pipeline.audio.decode import check_samples, to_mono_at_rate
from bird_pipeline.audio.windows import split_windows


def decode_soundscape_windows(
    loader: Callable[[], tuple[np.ndarray, int]],
    sample_rate: int,
    window_seconds: float,
) -> np.ndarray:
    """Decode, downmix, resample and cut a soundscape into windows.

    Args:
        loader: Returns `(samples, source_rate)` when called.
        sample_rate: Model sample rate in Hz.
        window_seconds: Window length in seconds (5 in BirdCLEF).

    Returns:
        `(windows, window_samples)` float32; a partial last window is zero-padded.

    Raises:
        AudioDecodeError: The file contains no samples or non-finite samples.
    """
    samples, source_rate = loader()
    check_samples(samples, "the soundscape")
    waveform = to_mono_at_rate(samples, source_rate, sample_rate)
    return split_windows(waveform, round(window_seconds * sample_rate))
