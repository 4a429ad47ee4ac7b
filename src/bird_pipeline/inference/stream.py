"""Stream a soundscape of any length as 5 s windows, decoded block by block.

Memory stays bounded by the block size, not by the file: soundfile reads
`windows_per_block` windows of source samples at a time, each block is
downmixed and resampled, and full windows leave as soon as they are complete.
Resampling a block with `margin` source samples of context on both sides gives
the same samples as resampling the whole file, because the polyphase filter
reaches fewer samples than the margin. A test compares both ways.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from bird_pipeline.audio.decode import AudioDecodeError, check_samples

logger = logging.getLogger(__name__)

# scipy 1.x's resample_poly filter reaches 10 * max(up, down) upsampled samples
# to each side. The margin adds headroom, rounded up to whole `down` steps so
# that block starts map to whole output samples.
FILTER_HALF_WIDTH = 10


def _resample_margin(up: int, down: int) -> int:
    """Return source samples of context that cover the filter, a multiple of `down`."""
    reach = math.ceil(FILTER_HALF_WIDTH * max(up, down) / up) + 2
    return down * math.ceil(reach / down)


class _Resampler:
    """Resample consecutive source blocks as if the file were resampled at once."""

    def __init__(self, source_rate: int, sample_rate: int) -> None:
        divisor = gcd(source_rate, sample_rate)
        self.up = sample_rate // divisor
        self.down = source_rate // divisor
        same_rate = self.up == self.down == 1
        self.margin = 0 if same_rate else _resample_margin(self.up, self.down)
        self._buffer = np.zeros(0, dtype=np.float32)  # context + unconverted samples
        self._context = 0  # leading samples of `_buffer` already converted

    def push(self, samples: np.ndarray, final: bool) -> np.ndarray:
        """Add source samples and return the output samples that are now exact."""
        self._buffer = np.concatenate([self._buffer, samples])
        if self.margin == 0:
            ready, self._buffer = self._buffer, self._buffer[:0]
            return ready
        pending = len(self._buffer) - self._context
        # Convert whole `down` steps that have a full right margin, or all at the end.
        convertible = pending if final else pending - self.margin
        convertible -= 0 if final else convertible % self.down
        if convertible <= 0:
            return np.zeros(0, dtype=np.float32)
        resampled = resample_poly(self._buffer, self.up, self.down)
        first = self._context * self.up // self.down
        last = math.ceil((self._context + convertible) * self.up / self.down)
        ready = resampled[first:last].astype(np.float32)
        # Keep up to `margin` converted samples as left context of the next block.
        context = min(self.margin, self._context + convertible)
        self._buffer = self._buffer[self._context + convertible - context :]
        self._context = context
        return ready


def stream_windows(
    path: str | Path,
    sample_rate: int,
    window_seconds: float,
    windows_per_block: int,
) -> Iterator[np.ndarray]:
    """Yield consecutive windows of a soundscape in blocks.

    Args:
        path: Audio file soundfile reads (ogg, flac, wav, mp3).
        sample_rate: Model sample rate in Hz.
        window_seconds: Window length in seconds (5 in BirdCLEF).
        windows_per_block: Windows decoded, and yielded, at a time.

    Yields:
        `(windows, window_samples)` float32 with at most `windows_per_block`
        windows. The windows equal `decode_soundscape_windows` of the whole file,
        including the zero-padded partial last window.

    Raises:
        AudioDecodeError: The file is unreadable, empty or contains non-finite
            samples.
    """
    if windows_per_block < 1:
        raise ValueError(
            f"windows_per_block must be at least 1, got {windows_per_block}"
        )
    window_samples = round(window_seconds * sample_rate)
    if Path(path).is_file() and Path(path).stat().st_size == 0:
        raise AudioDecodeError(f"{path} is an empty file (0 bytes)", reason="empty")
    try:
        audio = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioDecodeError(f"cannot decode {path}: {exc}") from exc
    with audio:
        if audio.samplerate <= 0:
            raise AudioDecodeError(
                f"invalid sample rate {audio.samplerate} Hz in {path}",
                reason="invalid sample rate",
            )
        resampler = _Resampler(audio.samplerate, sample_rate)
        block_frames = math.ceil(windows_per_block * window_seconds * audio.samplerate)
        pending = np.zeros(0, dtype=np.float32)
        emitted = 0
        while True:
            samples = audio.read(block_frames, dtype="float32", always_2d=True)
            final = len(samples) < block_frames
            if len(samples):
                check_samples(samples, str(path))
            mono = samples.mean(axis=1, dtype=np.float32)
            pending = np.concatenate([pending, resampler.push(mono, final)])
            if final and emitted == 0 and len(pending) == 0:
                raise AudioDecodeError(
                    f"{path} decodes to zero samples", reason="empty"
                )
            full = len(pending) // window_samples
            if final and len(pending) % window_samples:
                full += 1  # the zero-padded partial last window
                padded = np.zeros(full * window_samples, dtype=np.float32)
                padded[: len(pending)] = pending
                pending = padded
            for start in range(0, full, windows_per_block):
                count = min(windows_per_block, full - start)
                block = pending[
                    start * window_samples : (start + count) * window_samples
                ]
                yield block.reshape(count, window_samples)
            emitted += full
            pending = pending[full * window_samples :]
            if final:
                return
