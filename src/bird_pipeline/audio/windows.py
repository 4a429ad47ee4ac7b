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


def read_window(waveform: np.ndarray, start: int, window_samples: int) -> np.ndarray:
    """Read `window_samples` from `start`, zero-filling what lies outside the waveform.

    `start` may be negative or run past the end, as the shifted windows of
    test-time shift averaging do at the edges of a recording.
    """
    window = np.zeros(window_samples, dtype=np.float32)
    first = max(start, 0)
    last = min(start + window_samples, len(waveform))
    if last > first:
        window[first - start : last - start] = waveform[first:last]
    return window


def shift_offsets(shift_samples: int) -> tuple[int, ...]:
    """Return the window offsets of test-time shift averaging: `(-shift, 0, +shift)`.

    A shift of 0 gives the single offset 0 (one pass per window).
    """
    return (-shift_samples, 0, shift_samples) if shift_samples > 0 else (0,)


def split_shifted_windows(
    waveform: np.ndarray, window_samples: int, shift_samples: int
) -> np.ndarray:
    """Cut consecutive windows, each also read shifted earlier and later.

    Returns:
        `(windows, shifts, window_samples)` float32, where `shifts` is 3 with a
        shift and 1 without. Window `i` and its shifted copies belong to the
        window that ends at `(i + 1) * window_samples`.
    """
    num_windows = count_windows(len(waveform), window_samples)
    offsets = shift_offsets(shift_samples)
    out = np.empty((num_windows, len(offsets), window_samples), dtype=np.float32)
    for index in range(num_windows):
        start = index * window_samples
        for position, offset in enumerate(offsets):
            out[index, position] = read_window(waveform, start + offset, window_samples)
    return out
