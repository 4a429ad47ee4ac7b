"""Additive batch mixing: clips summed with one or two partners, labels united."""

from __future__ import annotations

import torch


def mix_batch(
    waveform: torch.Tensor,
    targets: torch.Tensor,
    prob: float,
    max_clips: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add partner clips from the same batch to a random subset of clips.

    With probability `prob` a clip gets one partner. When `max_clips` is 3, a
    mixed clip gets a second partner with probability 0.5 (which may repeat the
    first). A batch of one clip is returned unchanged. Targets combine by
    union (element-wise max), so they stay in [0, 1]. Draws use torch's global
    generator, which the stage seeds.

    Args:
        waveform: `(batch, time)`.
        targets: `(batch, classes)`.
        prob: Share of clips that are mixed.
        max_clips: 2 or 3 clips in one mix.

    Returns:
        Mixed waveforms and targets, same shapes.
    """
    if max_clips not in (2, 3):
        raise ValueError(f"mixup_max_clips must be 2 or 3, got {max_clips}")
    batch = waveform.shape[0]
    mixed_waveform = waveform.clone()
    mixed_targets = targets.clone()
    if batch < 2:
        return mixed_waveform, mixed_targets
    chosen = torch.rand(batch) < prob
    for extra in range(max_clips - 1):
        # An offset in 1..batch-1 never pairs a clip with itself.
        partner = (torch.arange(batch) + torch.randint(1, batch, (batch,))) % batch
        use = chosen if extra == 0 else chosen & (torch.rand(batch) < 0.5)
        mixed_waveform[use] += waveform[partner[use]]
        mixed_targets[use] = torch.maximum(mixed_targets[use], targets[partner[use]])
    return mixed_waveform, mixed_targets
