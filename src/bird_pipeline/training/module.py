"""The LightningModule that trains a `BirdClassifier` in one stage."""

from __future__ import annotations

import math

import lightning as L
import numpy as np
import torch

from bird_pipeline.models.classifier import BirdClassifier
from bird_pipeline.training.config import StageConfig
from bird_pipeline.training.losses import LOSS_FUNCTIONS
from bird_pipeline.training.mixing import mix_batch, mixup_spectrograms
from bird_pipeline.training.spec_augment import SpecAugmentConfig, augment_spectrogram
from bird_pipeline.training.validation import (
    ValidationSet,
    score_windows,
    window_probs,
)


class StageModule(L.LightningModule):
    """Wrap a classifier with the stage's loss, optimiser and schedule.

    Args:
        model: The classifier, already holding the stage's starting weights.
        config: Stage settings.
        classes: Class codes in output order.
        validation_sets: Window sets scored after every epoch, one DataLoader
            each, in this order.
    """

    def __init__(
        self,
        model: BirdClassifier,
        config: StageConfig,
        classes: list[str] | None = None,
        validation_sets: list[ValidationSet] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.config = config
        self.classes = list(classes or [])
        self.loss_function = LOSS_FUNCTIONS[config.loss]
        self.validation_sets = list(validation_sets or [])
        self._validation_outputs: list[list[tuple[torch.Tensor, torch.Tensor]]] = []
        self.class_ap: dict[str, dict[str, float]] = {}
        self.spec_augment = (
            SpecAugmentConfig.from_params(config.spec_augment)
            if config.spec_augment
            else None
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return self.model(waveform)

    def compute_loss(
        self,
        outputs: dict[str, torch.Tensor],
        targets: torch.Tensor,
        weights: torch.Tensor,
    ) -> torch.Tensor:
        """Weighted mean loss on clip logits, plus the max-over-frames term for SED.

        Args:
            outputs: Head outputs.
            targets: `(batch, classes)`.
            weights: `(batch,)` loss weight of each sample.
        """
        smoothing = self.config.label_smoothing
        losses = self.loss_function(outputs["logits"], targets, smoothing)
        if "frame_logits" in outputs and self.config.frame_loss_weight > 0:
            frame_max = outputs["frame_logits"].amax(dim=-1)  # (batch, classes)
            losses = losses + self.config.frame_loss_weight * self.loss_function(
                frame_max, targets, smoothing
            )
        return (losses * weights).sum() / weights.sum()

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        waveform, targets, weights = batch
        config = self.config
        if config.mixup_prob > 0:
            waveform, targets = mix_batch(
                waveform, targets, config.mixup_prob, config.mixup_max_clips
            )
        mel = self.model.compute_mel(waveform)
        if config.spec_mixup_prob > 0:
            mel, targets, weights = mixup_spectrograms(
                mel, targets, weights, config.spec_mixup_prob, config.spec_mixup_alpha
            )
        if self.spec_augment is not None:
            mel = augment_spectrogram(mel, self.spec_augment)
        loss = self.compute_loss(self.model.forward_mel(mel), targets, weights)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"stage {self.config.name}: non-finite loss {loss.item()} at epoch "
                f"{self.current_epoch}, batch {batch_idx}; lower the learning rate "
                f"or check the input audio for NaN"
            )
        self.log("train_loss", loss, prog_bar=True, on_step=True, on_epoch=True)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._validation_outputs = [[] for _ in self.validation_sets]

    def validation_step(
        self,
        batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        waveform, _, index = batch
        probs = window_probs(self.model, waveform)
        self._validation_outputs[dataloader_idx].append((index, probs))

    def _gather_windows(
        self, outputs: list[tuple[torch.Tensor, torch.Tensor]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Join the window indices and probabilities of every batch and rank.

        Under DDP each rank scores a shard of the windows (the sampler pads
        shards to equal length by repeating windows, which only rewrites the
        same row), so the shards are gathered before scoring.
        """
        index = torch.cat([batch_index for batch_index, _ in outputs])
        probs = torch.cat([batch_probs for _, batch_probs in outputs])
        if self.trainer.world_size > 1:
            index = self.all_gather(index).reshape(-1)
            probs = self.all_gather(probs).reshape(-1, probs.shape[-1])
        return index.cpu().numpy(), probs.cpu().numpy()

    def on_validation_epoch_end(self) -> None:
        for validation_set, outputs in zip(
            self.validation_sets, self._validation_outputs, strict=True
        ):
            if not outputs:
                continue
            index, batch_probs = self._gather_windows(outputs)
            probs = np.zeros(
                (len(validation_set.windows), len(self.classes)), np.float32
            )
            probs[index] = batch_probs
            scores = score_windows(
                validation_set.name, validation_set.windows, probs, self.classes
            )
            self.class_ap[validation_set.name] = scores.pop(
                f"{validation_set.name}_class_ap"
            )
            for name, value in scores.items():
                if not math.isnan(value):
                    self.log(name, value, prog_bar=True, add_dataloader_idx=False)

    def configure_optimizers(self):
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(
            parameters, lr=self.config.lr, weight_decay=self.config.weight_decay
        )
        # Cosine cycles with warm restarts; the scheduler steps once per epoch.
        scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
            optimizer,
            T_0=self.config.restart_epochs or self.config.epochs,
            T_mult=self.config.restart_mult,
            eta_min=self.config.min_lr,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"},
        }
