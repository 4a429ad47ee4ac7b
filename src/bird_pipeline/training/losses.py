"""Loss functions by name: soft-target cross-entropy and BCE with logits."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

LossFunction = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


def cross_entropy_loss(
    logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float
) -> torch.Tensor:
    """Softmax cross-entropy against targets normalised to a distribution.

    Returns:
        The loss of each sample, `(batch,)`.

    Args:
        logits: `(batch, classes)`.
        targets: `(batch, classes)` in [0, 1]; each row needs a positive entry.
        label_smoothing: Mass spread uniformly over all classes.
    """
    distribution = targets / targets.sum(dim=1, keepdim=True).clamp(min=1e-6)
    return F.cross_entropy(
        logits, distribution, label_smoothing=label_smoothing, reduction="none"
    )


def bce_loss(
    logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float
) -> torch.Tensor:
    """Return sigmoid BCE with logits per sample, `(batch,)`, averaged over classes.

    `label_smoothing` is unused by this loss.
    """
    del label_smoothing
    losses = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return losses.mean(dim=1)


LOSS_FUNCTIONS: dict[str, LossFunction] = {
    "ce": cross_entropy_loss,
    "bce": bce_loss,
}
