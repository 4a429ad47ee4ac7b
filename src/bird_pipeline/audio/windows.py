"""Cut waveforms into the fixed 5 s windows that BirdCLEF scores."""

from __future__ import annotations

import math

import numpy as np


def count_windows(num_samples: int, window_samples: int) -> int:
    """Return how many windows cover `num_samples`, a partial last window included."""
    return max(1, math.ceil(num_samples / window_samples))


def split_windows(waveform: np.ndarray, window_samples: int) -> np.ndarray:
    """Split a waveform into consecutive windows, zero-padding the last one.

    Args:
        waveform: `(time,)`.
        window_samples: Samples per window.

    Returns:
        `(windows, window_samples)`, float32. Window `i` ends at
        `(i + 1) * window_samples`, so a soundscape's row ids follow from the index.
    """
    num_windows = count_windows(len(waveform), window_samples)
    padded = np.zeros(num_windows * window_samples, dtype=np.float32)
    padded[: len(waveform)] = waveform
    return padded.reshape(num_windows, window_samples)  # (windows, window_samples)
