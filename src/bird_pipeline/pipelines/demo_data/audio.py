"""The `(waveform, sample_rate)` output type and peak normalisation of demo audio."""

import numpy as np

PEAK_LEVEL = 0.5
Audio = tuple[np.ndarray, int]


def peak_normalise(waveform: np.ndarray) -> np.ndarray:
    """Scale to a peak of `PEAK_LEVEL` and return float32."""
    peak = max(float(np.max(np.abs(waveform))), 1e-12)
    return (waveform * (PEAK_LEVEL / peak)).astype(np.float32)
