"""Nodes of the training stages."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
from torch.utils.data import DataLoader

from bird_pipeline.models import build_classifier, resolve_preset
from bird_pipeline.models.presets import ModelPreset
from bird_pipeline.training.callbacks import EpochHistory, FreezeBackbone
from bird_pipeline.training.checkpoint import (
    backbone_digest,
    load_backbone,
    make_checkpoint,
)
from bird_pipeline.training.config import StageConfig
from bird_pipeline.training.data import ClipDataset, build_targets
from bird_pipeline.training.module import StageModule

logger = logging.getLogger(__name__)


def initialize_model(
    model_name: str,
    presets: dict[str, dict[str, Any]],
    model_params: dict[str, Any],
    pretrain_classes: list[str],
) -> dict[str, Any]:
    """Build the untrained model that starts the chain.

    Args:
        model_name: Preset name, for example `cnn_b0ns`.
        presets: The preset table.
        model_params: `pretrained` (bool) and `pretrained_file` (path or null).
        pretrain_classes: Output classes of the pretrain stages.

    Returns:
        A checkpoint dict with stage `initial`.
    """
    preset = resolve_preset(model_name, presets)
    model = build_classifier(
        preset,
        num_classes=len(pretrain_classes),
        pretrained=bool(model_params["pretrained"]),
        pretrained_file=model_params.get("pretrained_file"),
    )
    logger.info(
        "Initialised %s (%s encoder, %s head) for %d classes",
        preset.name,
        preset.encoder,
        preset.head,
        len(pretrain_classes),
    )
    return make_checkpoint(model, pretrain_classes, stage="initial")


def _clip_samples(config: StageConfig, preset: ModelPreset) -> int:
    clip_samples = round(config.clip_seconds * preset.sample_rate)
    if clip_samples % preset.segment_samples:
        raise ValueError(
            f"stage {config.name!r}: clip_seconds={config.clip_seconds} is not a "
            f"multiple of the {preset.segment_seconds} s segment of preset "
            f"{preset.name!r}"
        )
    return clip_samples


def train_stage(
    start_checkpoint: dict[str, Any],
    recordings: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    classes: list[str],
    training_defaults: dict[str, Any],
    stage_params: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train one stage from the previous stage's checkpoint.

    Args:
        start_checkpoint: The previous stage's checkpoint (or the initial model).
        recordings: Decoded recordings table.
        audio_cache: Waveforms keyed by recording id.
        classes: Output classes of this stage.
        training_defaults: Settings shared by all stages (`training` block).
        stage_params: This stage's settings; they override the defaults.

    Returns:
        The stage checkpoint and its history report.
    """
    config = StageConfig.from_params({**training_defaults, **stage_params})
    L.seed_everything(config.seed, workers=True)

    preset = ModelPreset(**start_checkpoint["preset"])
    if not config.reinit_head and list(start_checkpoint["classes"]) != list(classes):
        raise ValueError(
            f"stage {config.name!r} keeps the head but its classes differ from the "
            f"starting checkpoint's ({len(start_checkpoint['classes'])} vs "
            f"{len(classes)}); set reinit_head: true for this stage"
        )
    model = build_classifier(preset, num_classes=len(classes))
    load_backbone(model, start_checkpoint["state_dict"], reinit_head=config.reinit_head)
    start_digest = backbone_digest(model)

    targets = build_targets(recordings, classes, config.secondary_target)
    labelled = targets.max(axis=1) > 0
    if not labelled.any():
        raise ValueError(
            f"stage {config.name!r}: no recording has a label among its "
            f"{len(classes)} classes; check train_classes against the metadata"
        )
    logger.info(
        "Stage %s: %d recordings with a label in its %d classes (%d without)",
        config.name,
        int(labelled.sum()),
        len(classes),
        int((~labelled).sum()),
    )
    dataset = ClipDataset(
        recordings[labelled],
        targets[labelled],
        audio_cache,
        _clip_samples(config, preset),
    )
    loader = DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=True,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
    )

    history = EpochHistory()
    callbacks = [history] + ([FreezeBackbone()] if config.freeze_backbone else [])
    trainer = L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=1,
        precision=config.precision,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        limit_train_batches=config.limit_train_batches,
        callbacks=callbacks,
    )
    trainer.fit(StageModule(model, config), train_dataloaders=loader)

    checkpoint = make_checkpoint(model.cpu(), classes, config.name, start_digest)
    report = {
        "stage": config.name,
        "preset": preset.name,
        "classes": len(classes),
        "recordings": int(labelled.sum()),
        "backbone_sha256_start": start_digest,
        "backbone_sha256": checkpoint["backbone_sha256"],
        "epochs": history.rows,
    }
    return checkpoint, report
