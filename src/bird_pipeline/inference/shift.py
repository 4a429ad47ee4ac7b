"""Test-time shift averaging over streamed soundscape windows.

SED presets score each 5 s window three times: as is, and read `shift` samples
earlier and later, then average the three probabilities. Validation does this
on whole decoded recordings (`split_shifted_windows`). A soundscape streamed in
blocks needs audio from the neighbouring blocks for the shifted reads, so
`with_context` keeps the tail of the previous block and looks one block ahead.
Outside the recording the shifted reads see zeros, as in validation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from bird_pipeline.audio.windows import shift_offsets
from bird_pipeline.inference.runtime import sigmoid


def with_context(
    blocks: Iterator[np.ndarray], context_samples: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield each block of windows together with audio around it.

    Args:
        blocks: `(windows, window_samples)` blocks of consecutive windows, as
            `stream_windows` yields them.
        context_samples: Samples of audio to add before and after each block,
            at most one window.

    Yields:
        `(windows, extended)`: the block, and the flat samples from
        `context_samples` before its first window to `context_samples` after
        its last, zero outside the recording.

    Raises:
        ValueError: `context_samples` is negative or longer than a window.
    """
    previous_tail: np.ndarray | None = None
    current = next(blocks, None)
    while current is not None:
        window_samples = current.shape[1]
        if not 0 <= context_samples <= window_samples:
            raise ValueError(
                f"context of {context_samples} samples must lie between 0 and one "
                f"window ({window_samples} samples); lower the preset's shift_seconds"
            )
        following = next(blocks, None)
        before = (
            np.zeros(context_samples, dtype=np.float32)
            if previous_tail is None
            else previous_tail
        )
        after = (
            np.zeros(context_samples, dtype=np.float32)
            if following is None
            else following.reshape(-1)[:context_samples]
        )
        flat = current.reshape(-1)
        yield current, np.concatenate([before, flat, after])
        previous_tail = flat[len(flat) - context_samples :]
        current = following


def shifted_windows(
    extended: np.ndarray,
    num_windows: int,
    window_samples: int,
    context_samples: int,
    shift_samples: int,
) -> np.ndarray:
    """Cut each window of a block and its shifted copies from `extended`.

    Returns:
        `(num_windows, shifts, window_samples)` float32, in the order of
        `shift_offsets` (earlier, as is, later), or one copy without a shift.
    """
    if shift_samples > context_samples:
        raise ValueError(
            f"a shift of {shift_samples} samples needs at least that much "
            f"context, got {context_samples}"
        )
    offsets = shift_offsets(shift_samples)
    out = np.empty((num_windows, len(offsets), window_samples), dtype=np.float32)
    for index in range(num_windows):
        start = context_samples + index * window_samples
        for position, offset in enumerate(offsets):
            out[index, position] = extended[
                start + offset : start + offset + window_samples
            ]
    return out


def shift_averaged_probs(
    infer: Callable[[np.ndarray], np.ndarray],
    windows: np.ndarray,
    extended: np.ndarray,
    context_samples: int,
    shift_samples: int,
) -> np.ndarray:
    """Return sigmoid probabilities of a block, averaged over test-time shifts.

    Args:
        infer: Maps `(n, window_samples)` windows to logits `(n, classes)`.
        windows: The block `(windows, window_samples)`.
        extended: The block with context, from `with_context`.
        context_samples: The context `extended` was built with.
        shift_samples: The preset's shift; 0 runs the windows once.

    Returns:
        `(windows, classes)` float32.
    """
    if shift_samples == 0:
        return sigmoid(infer(windows))
    num_windows, window_samples = windows.shape
    shifted = shifted_windows(
        extended, num_windows, window_samples, context_samples, shift_samples
    )
    logits = infer(shifted.reshape(-1, window_samples))
    probs = sigmoid(logits).reshape(num_windows, shifted.shape[1], -1)
    return probs.mean(axis=1, dtype=np.float32)
