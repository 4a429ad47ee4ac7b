"""Training clips: random crops from the audio cache with their target vectors."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from bird_pipeline.audio.augment import AugmentConfig, augment_waveform
from bird_pipeline.datasets.audio_cache import AudioCache
from bird_pipeline.training.pseudo import PseudoLabels


def build_targets(
    recordings: pd.DataFrame, classes: list[str], secondary_target: float
) -> np.ndarray:
    """Build the target matrix `(recordings, classes)`.

    Primary labels get 1.0 and secondary labels `secondary_target`; labels
    outside `classes` are ignored.
    """
    index = {code: position for position, code in enumerate(classes)}
    targets = np.zeros((len(recordings), len(classes)), dtype=np.float32)
    for row, (primary, secondary) in enumerate(
        zip(recordings["primary_label"], recordings["secondary_labels"], strict=True)
    ):
        for code in secondary.split():
            if code in index:
                targets[row, index[code]] = secondary_target
        if primary in index:
            targets[row, index[primary]] = 1.0
    return targets


def count_unknown_secondary(recordings: pd.DataFrame, classes: list[str]) -> int:
    """Count secondary labels outside `classes`; `build_targets` drops them."""
    known = set(classes)
    return sum(
        code not in known
        for labels in recordings["secondary_labels"]
        for code in labels.split()
    )


def crop_or_tile(waveform: np.ndarray, clip_samples: int) -> tuple[np.ndarray, int]:
    """Cut a random `clip_samples` crop; shorter recordings are repeated to fill it.

    Returns the clip and its first sample in the recording (0 when tiled).

    Repeating, rather than padding with silence, keeps the call present across
    the whole clip, so every 5 s part of it still carries the label. The offset
    comes from torch's global generator, which Lightning's
    `seed_everything(workers=True)` seeds differently per worker and epoch.
    """
    if len(waveform) >= clip_samples:
        start = int(torch.randint(0, len(waveform) - clip_samples + 1, (1,)))
        # A copy: the cache is a read-only memory map, and torch needs a writable array.
        clip = np.array(waveform[start : start + clip_samples], dtype=np.float32)
        return clip, start
    repeats = -(-clip_samples // len(waveform))  # ceiling division
    tiled = np.tile(np.asarray(waveform, dtype=np.float32), repeats)[:clip_samples]
    return tiled, 0


def crop_recording(
    audio_cache: Mapping[str, np.ndarray], recording_id: str, clip_samples: int
) -> tuple[np.ndarray, int, int]:
    """Cut a random crop of a cached recording as `crop_or_tile` does.

    An `AudioCache` reads only the crop's samples. The random draw is the same
    as `crop_or_tile`'s, so both give the same crop for the same seed.

    Returns:
        The writable clip, its first sample and the recording's length.
    """
    if not isinstance(audio_cache, AudioCache):
        waveform = audio_cache[recording_id]
        clip, start = crop_or_tile(waveform, clip_samples)
        return clip, start, len(waveform)
    num_samples = audio_cache.num_samples(recording_id)
    if num_samples < clip_samples:
        clip, start = crop_or_tile(audio_cache[recording_id], clip_samples)
        return clip, start, num_samples
    start = int(torch.randint(0, num_samples - clip_samples + 1, (1,)))
    return audio_cache.read_range(recording_id, start, clip_samples), start, num_samples


class ClipDataset(Dataset):
    """Random training crops with their targets.

    Args:
        recordings: Recordings table; every id must be in `audio_cache`.
        targets: `(recordings, classes)` from `build_targets`.
        loss_weights: `(recordings,)` weight of each recording in the loss.
        audio_cache: Waveforms keyed by recording id.
        clip_samples: Crop length in samples.
        augment: Waveform augmentations, or None for plain crops.
        noise_bank: Background noise waveforms keyed by id, for the
            background-noise augmentation; None or empty turns it off.
        pseudo: Window predictions that scale the targets of crops shorter
            than their recording; None keeps the recording's targets.
    """

    def __init__(
        self,
        recordings: pd.DataFrame,
        targets: np.ndarray,
        loss_weights: np.ndarray,
        audio_cache: Mapping[str, np.ndarray],
        clip_samples: int,
        augment: AugmentConfig | None = None,
        noise_bank: Mapping[str, np.ndarray] | None = None,
        pseudo: PseudoLabels | None = None,
    ) -> None:
        self.recording_ids = list(recordings["recording_id"])
        self.targets = torch.from_numpy(targets)
        self.loss_weights = torch.from_numpy(np.asarray(loss_weights, dtype=np.float32))
        self.audio_cache = audio_cache
        self.clip_samples = clip_samples
        self.augment = augment
        self.noise_bank = noise_bank
        self.noise_ids = tuple(sorted(noise_bank or ()))
        self.pseudo = pseudo

    def __len__(self) -> int:
        return len(self.recording_ids)

    def __getitem__(
        self, index: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        recording_id = self.recording_ids[index]
        clip, start, num_samples = crop_recording(
            self.audio_cache, recording_id, self.clip_samples
        )
        targets = self.targets[index]
        if self.pseudo is not None and num_samples > self.clip_samples:
            adjusted = self.pseudo.adjust(
                recording_id, targets.numpy(), start, self.clip_samples
            )
            targets = torch.from_numpy(adjusted)
        if self.augment is not None:
            # Seeded from torch's generator, which differs per worker and epoch.
            rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,))))
            clip = augment_waveform(
                clip, self.augment, rng, self.noise_bank, self.noise_ids
            )
        return torch.from_numpy(clip), targets, self.loss_weights[index]
