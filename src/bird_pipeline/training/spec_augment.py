"""Spectrogram augmentations on mel batches, applied on the training device.

They act on the front end's output `(batch, parts, channels, mels, frames)`,
scaled to [0, 1] where 0 is the `top_db` floor, so a masked or attenuated bin
reads as quiet. Every transform is drawn per 5 s part with its own apply
probability. Unlike the `p` argument of torchaudio's masking transforms, which
caps the masked fraction of the axis, `*_prob` here is the chance that a part
is masked at all. Draws use torch's global generator, which the stage seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch

from bird_pipeline.params import check_keys


@dataclass(frozen=True)
class SpecAugmentConfig:
    """Probabilities and sizes of the spectrogram augmentations."""

    time_mask_prob: float  # chance that a part gets time masks
    time_masks: int  # masks per masked part
    time_mask_max_fraction: float  # widest mask as a fraction of the frames
    freq_mask_prob: float  # chance that a part gets frequency masks
    freq_masks: int  # masks per masked part
    freq_mask_max_fraction: float  # widest mask as a fraction of the mel bins
    # Attenuate the bins above a random mel bin with a gain that falls linearly
    # to a random floor at the top bin, as distance and foliage damp the high
    # frequencies of a call more than the low ones.
    freq_ramp_prob: float
    freq_ramp_min_gain: float  # lowest gain the ramp may reach, in (0, 1]

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name.endswith(("_prob", "_fraction")) and not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"spec_augment.{field.name} must be in [0, 1], got {value}"
                )
        if self.time_masks < 0 or self.freq_masks < 0:
            raise ValueError(
                f"spec_augment mask counts must be 0 or more, got time_masks="
                f"{self.time_masks} and freq_masks={self.freq_masks}"
            )
        if not 0.0 < self.freq_ramp_min_gain <= 1.0:
            raise ValueError(
                f"spec_augment.freq_ramp_min_gain must be in (0, 1], "
                f"got {self.freq_ramp_min_gain}"
            )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SpecAugmentConfig:
        """Build the config from the `spec_augment` block, naming bad keys."""
        check_keys(cls, params, "training.spec_augment")
        return cls(**params)


def mask_axis(
    mel: torch.Tensor, axis: int, prob: float, masks: int, max_fraction: float
) -> torch.Tensor:
    """Zero `masks` random bands along `axis` (-1 frames, -2 mel bins) per part.

    Args:
        mel: `(batch, parts, channels, mels, frames)` in [0, 1].
        axis: -1 for time masks, -2 for frequency masks.
        prob: Chance that a part is masked.
        masks: Bands per masked part; bands may overlap.
        max_fraction: Widest band as a fraction of the axis.

    Returns:
        The masked mel; the input is not changed.
    """
    size = mel.shape[axis]
    max_width = int(size * max_fraction)
    if prob <= 0 or masks == 0 or max_width == 0:
        return mel
    batch, parts = mel.shape[:2]
    device = mel.device
    chosen = torch.rand(batch, parts, 1, device=device) < prob
    widths = torch.randint(0, max_width + 1, (batch, parts, masks), device=device)
    starts = (
        torch.rand(batch, parts, masks, device=device) * (size - widths + 1)
    ).long()
    positions = torch.arange(size, device=device)  # (size,)
    inside = (positions >= starts[..., None]) & (
        positions < (starts + widths)[..., None]
    )  # (batch, parts, masks, size)
    masked = inside.any(dim=2) & chosen  # (batch, parts, size)
    shape = [batch, parts, 1, 1, 1]
    shape[axis] = size
    return mel.masked_fill(masked.reshape(shape), 0.0)


def freq_ramp(mel: torch.Tensor, prob: float, min_gain: float) -> torch.Tensor:
    """Attenuate the upper mel bins of a random subset of parts.

    For a chosen part, a start bin and a floor gain in [`min_gain`, 1] are
    drawn. The gain is 1 up to the start bin and falls linearly to the floor at
    the top bin.
    """
    if prob <= 0:
        return mel
    batch, parts, _, mels, _ = mel.shape
    device = mel.device
    chosen = torch.rand(batch, parts, 1, device=device) < prob
    start = torch.rand(batch, parts, 1, device=device) * (mels - 1)
    floor = min_gain + (1.0 - min_gain) * torch.rand(batch, parts, 1, device=device)
    bins = torch.arange(mels, device=device, dtype=mel.dtype)
    # 0 at the start bin and below, 1 at the top bin.
    progress = ((bins - start) / (mels - 1 - start).clamp(min=1e-6)).clamp(0.0, 1.0)
    gain = 1.0 - progress * (1.0 - floor)  # (batch, parts, mels)
    gain = torch.where(chosen, gain, torch.ones_like(gain))
    return mel * gain[:, :, None, :, None]


def augment_spectrogram(mel: torch.Tensor, config: SpecAugmentConfig) -> torch.Tensor:
    """Apply frequency-ramp attenuation, then time and frequency masks."""
    mel = freq_ramp(mel, config.freq_ramp_prob, config.freq_ramp_min_gain)
    mel = mask_axis(
        mel, -1, config.time_mask_prob, config.time_masks, config.time_mask_max_fraction
    )
    return mask_axis(
        mel, -2, config.freq_mask_prob, config.freq_masks, config.freq_mask_max_fraction
    )
