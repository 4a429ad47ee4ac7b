"""Generalised-mean (GeM) pooling.

From Radenović, Tolias and Chum, "Fine-tuning CNN Image Retrieval with No Human
Annotation" (TPAMI 2018): the p-th power mean of activations, learnt p.
"""

from __future__ import annotations

import torch
from torch import nn


class GeM(nn.Module):
    """Pool `(batch, channels, freq, time)` to `(batch, channels)` by the p-power mean.

    Args:
        p: Initial exponent; 1 is average pooling, large values approach max pooling.
        eps: Floor on activations before the power, which keeps gradients finite.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = features.clamp(min=self.eps).pow(self.p).mean(dim=(-2, -1))
        return pooled.pow(1.0 / self.p)
