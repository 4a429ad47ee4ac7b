"""Classifier heads over encoder feature maps `(batch, channels, freq, time)`.

`SEDHead` follows the attention block of PANNs (Kong et al., "PANNs: Large-Scale
Pretrained Audio Neural Networks for Audio Pattern Recognition", 2020): the
frequency axis is averaged away, each time frame gets class logits and an
attention weight, and the clip logits are the attention-weighted sum.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from bird_pipeline.models.pooling import GeM


class CNNHead(nn.Module):
    """GeM pooling, dropout and a linear classifier.

    Args:
        in_features: Encoder channels.
        num_classes: Output classes.
        drop_rate: Dropout probability before the classifier.
    """

    def __init__(self, in_features: int, num_classes: int, drop_rate: float) -> None:
        super().__init__()
        self.pool = GeM()
        self.dropout = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(in_features, num_classes)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.pool(features)  # (batch, channels)
        return {"logits": self.classifier(self.dropout(pooled))}


class SEDHead(nn.Module):
    """Sound-event-detection head with clip-wise and frame-wise logits.

    Args:
        in_features: Encoder channels.
        num_classes: Output classes.
        drop_rate: Dropout probability on the pooled features.
    """

    def __init__(self, in_features: int, num_classes: int, drop_rate: float) -> None:
        super().__init__()
        self.drop_rate = drop_rate
        self.fc = nn.Linear(in_features, in_features)
        self.attention = nn.Conv1d(in_features, num_classes, kernel_size=1)
        self.classifier = nn.Conv1d(in_features, num_classes, kernel_size=1)

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        frames = features.mean(dim=2)  # (batch, channels, time)
        # Smooth over neighbouring frames with both max and mean, as PANNs does.
        frames = F.max_pool1d(frames, 3, stride=1, padding=1) + F.avg_pool1d(
            frames, 3, stride=1, padding=1
        )
        frames = F.dropout(frames, self.drop_rate, self.training)
        frames = F.relu(self.fc(frames.transpose(1, 2))).transpose(1, 2)
        frames = F.dropout(frames, self.drop_rate, self.training)

        weights = torch.softmax(torch.tanh(self.attention(frames)), dim=-1)
        frame_logits = self.classifier(frames)  # (batch, classes, time)
        clip_logits = (weights * frame_logits).sum(dim=-1)  # (batch, classes)
        return {"logits": clip_logits, "frame_logits": frame_logits}


HEAD_TYPES: dict[str, type[nn.Module]] = {"cnn": CNNHead, "sed": SEDHead}
