"""Batch mixing: additive waveform mixing with labels united, and Beta mixup on mel."""

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


def mixup_spectrograms(
    mel: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    prob: float,
    alpha: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Blend a random subset of clips with a partner clip, Beta-weighted.

    A chosen clip becomes `lam * own + (1 - lam) * partner` with
    `lam ~ Beta(alpha, alpha)`, drawn per clip; its targets and loss weight
    are blended with the same `lam`. A batch of one clip is returned unchanged.
    Draws use torch's global generator.

    Args:
        mel: `(batch, ...)` spectrograms of whole clips.
        targets: `(batch, classes)`.
        weights: `(batch,)` loss weights.
        prob: Share of clips that are blended.
        alpha: Beta concentration; small values keep `lam` near 0 or 1.

    Returns:
        Blended mel, targets and weights, same shapes.
    """
    if alpha <= 0:
        raise ValueError(f"spec_mixup_alpha must be positive, got {alpha}")
    batch = mel.shape[0]
    if batch < 2 or prob <= 0:
        return mel, targets, weights
    device = mel.device
    chosen = torch.rand(batch, device=device) < prob
    lam = torch.distributions.Beta(alpha, alpha).sample((batch,)).to(device)
    lam = torch.where(chosen, lam, torch.ones_like(lam))
    offset = torch.randint(1, batch, (batch,), device=device)
    partner = (torch.arange(batch, device=device) + offset) % batch

    mel_lam = lam.reshape(batch, *([1] * (mel.dim() - 1))).to(mel.dtype)
    mixed_mel = mel_lam * mel + (1 - mel_lam) * mel[partner]
    mixed_targets = lam[:, None] * targets + (1 - lam[:, None]) * targets[partner]
    mixed_weights = lam * weights + (1 - lam) * weights[partner]
    return mixed_mel, mixed_targets, mixed_weights
