"""The bird-call classifier: waveform in, logits out.

The mel front end, a timm encoder and a head form one `nn.Module`, so exported
models take raw audio and no preprocessing has to be reproduced at inference.
"""

from __future__ import annotations

import logging
from pathlib import Path

import timm
import torch
from torch import nn

from bird_pipeline.audio.frontend import MelFrontend
from bird_pipeline.models.heads import build_head
from bird_pipeline.models.presets import ModelPreset

logger = logging.getLogger(__name__)


class BirdClassifier(nn.Module):
    """Mel front end, timm encoder and a CNN or SED head.

    A clip longer than one segment is cut into `segment_seconds` parts that pass
    the encoder as one batch. Their feature maps are joined along time before the
    head, so the head pools over the whole clip.

    Args:
        preset: Backbone and mel settings.
        num_classes: Output classes.
        encoder: A timm model built with `num_classes=0, global_pool=""`.
    """

    def __init__(
        self, preset: ModelPreset, num_classes: int, encoder: nn.Module
    ) -> None:
        super().__init__()
        self.preset = preset
        self.num_classes = num_classes
        self.frontend = MelFrontend(
            sample_rate=preset.sample_rate,
            n_fft=preset.n_fft,
            hop_length=preset.hop_length,
            n_mels=preset.n_mels,
            f_min=preset.f_min,
            f_max=preset.f_max,
            top_db=preset.top_db,
            use_deltas=preset.use_deltas,
            num_samples=preset.segment_samples,
        )
        self.encoder = encoder
        self.head = build_head(preset, encoder.num_features, num_classes)

    def compute_mel(self, waveform: torch.Tensor) -> torch.Tensor:
        """Cut clips into segments and compute their mel spectrograms.

        Args:
            waveform: `(batch, time)`, `time` a whole number of segments.

        Returns:
            `(batch, parts, channels, mels, frames)`, scaled to [0, 1].
        """
        batch, num_samples = waveform.shape
        segment_samples = self.preset.segment_samples
        if num_samples % segment_samples:
            raise ValueError(
                f"waveform length {num_samples} is not a multiple of the "
                f"{segment_samples}-sample segment ({self.preset.segment_seconds} s); "
                f"crop or pad clips to whole segments"
            )
        parts = num_samples // segment_samples
        mel = self.frontend(waveform.reshape(batch * parts, segment_samples))
        return mel.reshape(batch, parts, *mel.shape[1:])

    def encode_mel(self, mel: torch.Tensor) -> torch.Tensor:
        """Encode segment spectrograms and join each clip's parts along time.

        Args:
            mel: `(batch, parts, channels, mels, frames)` from `compute_mel`.

        Returns:
            Feature maps `(batch, channels, freq, parts * frames)`.
        """
        batch, parts = mel.shape[:2]
        features = self.encoder(mel.flatten(0, 1))  # (batch*parts, C, F, T)
        _, channels, freq, frames = features.shape
        features = features.reshape(batch, parts, channels, freq, frames)
        features = features.permute(0, 2, 3, 1, 4)  # (batch, C, F, parts, T)
        return features.reshape(batch, channels, freq, parts * frames)

    def forward_features(self, waveform: torch.Tensor) -> torch.Tensor:
        """Encode a batch of clips `(batch, time)` into `(batch, C, F, parts * T)`."""
        return self.encode_mel(self.compute_mel(waveform))

    def forward_mel(self, mel: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return every head output for spectrograms from `compute_mel`.

        Training calls this to augment the mel between front end and encoder.
        """
        return self.head(self.encode_mel(mel))

    def forward_outputs(self, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
        """Return every head output: `logits` and, for SED heads, `frame_logits`."""
        return self.forward_mel(self.compute_mel(waveform))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """Return clip logits `(batch, classes)` for waveforms `(batch, time)`."""
        return self.forward_outputs(waveform)["logits"]


def create_encoder(
    preset: ModelPreset,
    in_chans: int,
    pretrained: bool = False,
    pretrained_file: str | None = None,
) -> nn.Module:
    """Build the timm encoder, optionally with ImageNet weights.

    Args:
        preset: Names the timm model and its drop-path rate.
        in_chans: Input channels (1 for mel, 3 with deltas).
        pretrained: Load pretrained weights from the model hub or `pretrained_file`.
        pretrained_file: Local weights file (`.safetensors`, `.pth` or `.bin`)
            for machines without hub access.

    Raises:
        RuntimeError: Pretrained weights were requested but could not be loaded.
    """
    kwargs = {
        "in_chans": in_chans,
        "num_classes": 0,
        "global_pool": "",
        "drop_path_rate": preset.drop_path_rate,
    }
    if not pretrained:
        return timm.create_model(preset.encoder, pretrained=False, **kwargs)

    overlay = None
    if pretrained_file:
        if not Path(pretrained_file).is_file():
            raise RuntimeError(
                f"pretrained_file {pretrained_file!r} does not exist; download the "
                f"{preset.encoder!r} weights on a machine with internet access and "
                f"point `pretrained_file` at them, or set `pretrained: false`"
            )
        overlay = {"file": str(pretrained_file)}
    try:
        return timm.create_model(
            preset.encoder, pretrained=True, pretrained_cfg_overlay=overlay, **kwargs
        )
    except (OSError, RuntimeError, ValueError) as exc:
        raise RuntimeError(
            f"could not load pretrained weights for {preset.encoder!r}: {exc}. "
            f"The model hub may be unreachable from this machine: set "
            f"`pretrained_file` to a local weights file, or `pretrained: false` "
            f"to start from random weights"
        ) from exc


def build_classifier(
    preset: ModelPreset,
    num_classes: int,
    pretrained: bool = False,
    pretrained_file: str | None = None,
) -> BirdClassifier:
    """Build a classifier for `num_classes` outputs from a preset."""
    in_chans = 3 if preset.use_deltas else 1
    encoder = create_encoder(preset, in_chans, pretrained, pretrained_file)
    return BirdClassifier(preset, num_classes, encoder)
