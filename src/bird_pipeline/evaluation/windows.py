"""Validation windows: 5 s windows of held-out recordings and labelled soundscapes.

Clip-level validation alone overrates soundscape performance, because training
recordings are focal recordings with the bird close to the microphone. The
labelled soundscapes, when a data set has them, are therefore scored separately.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from bird_pipeline.audio.windows import read_window, shift_offsets


@dataclass(frozen=True)
class WindowSet:
    """Windows to score: where each one comes from and what it contains."""

    window_ids: list[str]  # "<source>_<end_second>", as in BirdCLEF row ids
    sources: list[str]  # key of the waveform in the audio mapping
    starts: np.ndarray  # first sample of each window, `(windows,)`
    truth: np.ndarray  # `(windows, classes)` of 0 and 1

    def __len__(self) -> int:
        return len(self.window_ids)


def recording_windows(
    recordings: pd.DataFrame,
    truth: np.ndarray,
    max_seconds: float,
    window_seconds: float,
    sample_rate: int,
) -> WindowSet:
    """Cut the first `max_seconds` of each recording into windows.

    Every window of a recording takes that recording's labels. A partial last
    window is kept and zero-padded when read.

    Args:
        recordings: Held-out recordings with `recording_id` and `duration_seconds`.
        truth: `(recordings, classes)` of 0 and 1.
        max_seconds: Seconds scored per recording (60 in the reference recipe).
        window_seconds: Window length in seconds.
        sample_rate: Hz of the cached waveforms.
    """
    window_ids, sources, starts, rows = [], [], [], []
    for row, (recording_id, duration) in enumerate(
        zip(recordings["recording_id"], recordings["duration_seconds"], strict=True)
    ):
        count = max(1, math.ceil(min(float(duration), max_seconds) / window_seconds))
        for index in range(count):
            end_second = round((index + 1) * window_seconds)
            window_ids.append(f"{recording_id}_{end_second}")
            sources.append(recording_id)
            starts.append(round(index * window_seconds * sample_rate))
            rows.append(row)
    return WindowSet(
        window_ids, sources, np.asarray(starts, dtype=np.int64), truth[rows]
    )


def soundscape_windows(
    soundscape_labels: pd.DataFrame, classes: list[str], sample_rate: int
) -> WindowSet:
    """Build windows from `soundscape_labels.csv` rows.

    Args:
        soundscape_labels: Columns `row_id`, `soundscape_id`, `start_second` and
            `birds` (space-separated codes, or `nocall`).
        classes: Class codes in column order; labels outside them are ignored.
        sample_rate: Hz of the decoded soundscapes.
    """
    index = {code: position for position, code in enumerate(classes)}
    truth = np.zeros((len(soundscape_labels), len(classes)), dtype=np.float32)
    for row, birds in enumerate(soundscape_labels["birds"].fillna("")):
        for code in str(birds).split():
            if code in index:
                truth[row, index[code]] = 1.0
    starts = (
        (soundscape_labels["start_second"].astype(float).to_numpy() * sample_rate)
        .round()
        .astype(np.int64)
    )
    return WindowSet(
        list(soundscape_labels["row_id"]),
        list(soundscape_labels["soundscape_id"]),
        starts,
        truth,
    )


class WindowDataset(Dataset):
    """Read windows of a `WindowSet` from a mapping of waveforms.

    Args:
        windows: The windows to read.
        audio: Waveforms `(time,)` keyed by source id (the audio cache or decoded
            soundscapes).
        window_samples: Samples per window.
        shift_samples: Test-time shift. When positive, an item is
            `(3, window_samples)`: the window read `shift_samples` earlier, as
            is, and later, zero-filled outside the waveform.
    """

    def __init__(
        self,
        windows: WindowSet,
        audio: Mapping[str, np.ndarray],
        window_samples: int,
        shift_samples: int = 0,
    ) -> None:
        self.windows = windows
        self.audio = audio
        self.window_samples = window_samples
        self.offsets = shift_offsets(shift_samples)

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        waveform = self.audio[self.windows.sources[index]]
        start = int(self.windows.starts[index])
        shifted = [
            read_window(waveform, start + offset, self.window_samples)
            for offset in self.offsets
        ]
        window = shifted[0] if len(shifted) == 1 else np.stack(shifted)
        truth = torch.from_numpy(self.windows.truth[index].astype(np.float32))
        return torch.from_numpy(window), truth, index
