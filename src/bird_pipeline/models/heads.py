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
from bird_pipeline.models.presets import ModelPreset


class CNNHead(nn.Module):
    """GeM pooling, dropout and a linear classifier.

    In training, multi-sample dropout averages the classifier over
    `dropout_samples` independent dropout masks of the same pooled features,
    which steadies the gradient at a high drop rate. In eval mode dropout is
    the identity, so one pass gives the same logits.

    Args:
        in_features: Encoder channels.
        num_classes: Output classes.
        drop_rate: Dropout probability before the classifier.
        dropout_samples: Dropout masks averaged in training (1: plain dropout).
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        drop_rate: float,
        dropout_samples: int = 1,
    ) -> None:
        super().__init__()
        if dropout_samples < 1:
            raise ValueError(
                f"dropout_samples must be 1 or more, got {dropout_samples}"
            )
        self.pool = GeM()
        self.dropout = nn.Dropout(drop_rate)
        self.classifier = nn.Linear(in_features, num_classes)
        self.dropout_samples = dropout_samples

    def forward(self, features: torch.Tensor) -> dict[str, torch.Tensor]:
        pooled = self.pool(features)  # (batch, channels)
        if not self.training or self.dropout_samples == 1:
            return {"logits": self.classifier(self.dropout(pooled))}
        samples = [
            self.classifier(self.dropout(pooled)) for _ in range(self.dropout_samples)
        ]
        return {"logits": torch.stack(samples).mean(dim=0)}


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


def build_head(preset: ModelPreset, in_features: int, num_classes: int) -> nn.Module:
    """Build the head that `preset.head` names."""
    if preset.head == "cnn":
        return CNNHead(
            in_features, num_classes, preset.drop_rate, preset.dropout_samples
        )
    return SEDHead(in_features, num_classes, preset.drop_rate)
