"""Nodes of the training stages."""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Mapping
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.loggers import CSVLogger
from matplotlib.figure import Figure
from torch.utils.data import DataLoader, WeightedRandomSampler

from bird_pipeline.audio.augment import AugmentConfig
from bird_pipeline.evaluation.folds import split_by_fold
from bird_pipeline.evaluation.plots import plot_class_ap, plot_curves
from bird_pipeline.models import build_classifier, resolve_preset
from bird_pipeline.models.classifier import BirdClassifier
from bird_pipeline.models.presets import ModelPreset
from bird_pipeline.training.callbacks import EpochHistory, FreezeBackbone
from bird_pipeline.training.checkpoint import (
    backbone_digest,
    load_backbone,
    make_checkpoint,
)
from bird_pipeline.training.config import StageConfig
from bird_pipeline.training.data import (
    ClipDataset,
    build_targets,
    count_unknown_secondary,
)
from bird_pipeline.training.distributed import run_distributed
from bird_pipeline.training.module import StageModule
from bird_pipeline.training.pseudo import PseudoLabels, build_pseudo_labels
from bird_pipeline.training.resume import (
    ResumeCheckpoint,
    resume_path,
    run_fingerprint,
)
from bird_pipeline.training.validation import (
    BestWeights,
    ValidationConfig,
    build_validation_sets,
    make_loaders,
)
from bird_pipeline.training.weights import loss_weights, sampling_weights

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
        model_params: `pretrained` (bool), `pretrained_file` (path or null) and
            `init_seed`, which seeds every randomly initialised weight so two
            runs start from the same model.
        pretrain_classes: Output classes of the pretrain stages.

    Returns:
        A checkpoint dict with stage `initial`.
    """
    preset = resolve_preset(model_name, presets)
    if model_params.get("init_seed") is None:
        raise ValueError(
            "model_options.init_seed is missing. Set an integer in "
            "conf/base/parameters.yml so that runs start from the same weights"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(model_params["init_seed"]))
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


def _start_model(
    start_checkpoint: dict[str, Any], classes: list[str], config: StageConfig
) -> BirdClassifier:
    preset = ModelPreset(**start_checkpoint["preset"])
    if not config.reinit_head and list(start_checkpoint["classes"]) != list(classes):
        raise ValueError(
            f"stage {config.name!r} keeps the head but its classes differ from the "
            f"starting checkpoint's ({len(start_checkpoint['classes'])} vs "
            f"{len(classes)}); set reinit_head: true for this stage"
        )
    model = build_classifier(preset, num_classes=len(classes))
    load_backbone(model, start_checkpoint["state_dict"], reinit_head=config.reinit_head)
    return model


def _augment_config(
    config: StageConfig, noise_audio: Mapping[str, np.ndarray]
) -> AugmentConfig | None:
    """Read the stage's waveform augmentations; warn when no noise can be mixed."""
    if not config.augment:
        return None
    augment = AugmentConfig.from_params(config.augment)
    if augment.background_noise_prob > 0 and not len(noise_audio):
        logger.warning(
            "Stage %s: background_noise_prob is %.2f but the data set has no "
            "decodable background_noise/ recordings; background-noise mixing is off",
            config.name,
            augment.background_noise_prob,
        )
    return augment


def _training_loader(
    recordings: pd.DataFrame,
    targets: np.ndarray,
    audio_cache: Mapping[str, np.ndarray],
    noise_audio: Mapping[str, np.ndarray],
    classes: list[str],
    config: StageConfig,
    preset: ModelPreset,
    pseudo: PseudoLabels | None = None,
) -> DataLoader:
    """Build the loader of random clips; `weighted_sampler` turns on class weighting."""
    dataset = ClipDataset(
        recordings,
        targets,
        loss_weights(
            recordings,
            classes,
            config.min_rating_weight,
            config.unrated_weight,
            config.non_target_weight,
        ),
        audio_cache,
        _clip_samples(config, preset),
        _augment_config(config, noise_audio),
        noise_audio,
        pseudo,
    )
    sampler = None
    if config.weighted_sampler:
        weights = sampling_weights(recordings, classes)
        sampler = WeightedRandomSampler(weights.tolist(), num_samples=len(recordings))
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
    )


def _split_recordings(
    recordings: pd.DataFrame, folds: pd.DataFrame, validation: ValidationConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (training, held-out) recordings; the reference switch trains on all."""
    if validation.reference:
        return recordings, recordings.iloc[0:0]
    return split_by_fold(recordings, folds, validation.fold)


def train_stage(
    start_checkpoint: dict[str, Any],
    recordings: pd.DataFrame,
    folds: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    noise_audio: Mapping[str, np.ndarray],
    soundscape_audio: Mapping[str, np.ndarray],
    soundscape_labels: pd.DataFrame,
    pseudo_labels: pd.DataFrame,
    pseudo_thresholds: pd.DataFrame,
    classes: list[str],
    training_defaults: dict[str, Any],
    validation_params: dict[str, Any],
    stage_params: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Train one stage, in this process or, with several devices, under DDP.

    Lightning's DDP launcher starts every rank by running the current script
    again, which for a node would re-run the whole `kedro run`. With
    `devices * num_nodes > 1` the stage therefore runs in a subprocess of
    `bird_pipeline.training.distributed`, which Lightning can relaunch safely,
    and this node only reads its results. Arguments and results are those of
    `train_stage_local`.
    """
    arguments = (
        start_checkpoint,
        recordings,
        folds,
        audio_cache,
        noise_audio,
        soundscape_audio,
        soundscape_labels,
        pseudo_labels,
        pseudo_thresholds,
        classes,
        training_defaults,
        validation_params,
        stage_params,
    )
    config = StageConfig.from_params({**training_defaults, **stage_params})
    if config.devices * config.num_nodes > 1:
        return run_distributed(arguments)
    return train_stage_local(*arguments)


def train_stage_local(
    start_checkpoint: dict[str, Any],
    recordings: pd.DataFrame,
    folds: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    noise_audio: Mapping[str, np.ndarray],
    soundscape_audio: Mapping[str, np.ndarray],
    soundscape_labels: pd.DataFrame,
    pseudo_labels: pd.DataFrame,
    pseudo_thresholds: pd.DataFrame,
    classes: list[str],
    training_defaults: dict[str, Any],
    validation_params: dict[str, Any],
    stage_params: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Train one stage from the previous stage's checkpoint and validate it.

    Args:
        start_checkpoint: The previous stage's checkpoint (or the initial model).
        recordings: Decoded recordings table.
        folds: `recording_id` and `fold` of every recording.
        audio_cache: Waveforms keyed by recording id.
        noise_audio: Background noise waveforms for the background-noise
            augmentation; may be empty.
        soundscape_audio: Decoded labelled soundscapes keyed by soundscape id.
        soundscape_labels: 5 s window labels of those soundscapes.
        pseudo_labels: Window predictions from the `pseudo_label` pipeline;
            read only when the stage sets `use_pseudo`.
        pseudo_thresholds: Per-class thresholds for `pseudo_mode: factor`.
        classes: Output classes of this stage.
        training_defaults: Settings shared by all stages (`training` block).
        validation_params: The `validation` block.
        stage_params: This stage's settings; they override the defaults.

    Returns:
        The last checkpoint, the best checkpoint by `validation.monitor` (the
        last one when nothing was validated) and the history report.
    """
    config = StageConfig.from_params({**training_defaults, **stage_params})
    validation = ValidationConfig(**validation_params)
    L.seed_everything(config.seed, workers=True)

    model = _start_model(start_checkpoint, classes, config)
    preset = model.preset
    start_digest = backbone_digest(model)

    train_rows, held_out = _split_recordings(recordings, folds, validation)
    targets = build_targets(train_rows, classes, config.secondary_target)
    labelled = targets.max(axis=1) > 0
    if not labelled.any():
        raise ValueError(
            f"stage {config.name!r}: no recording has a label among its "
            f"{len(classes)} classes; check train_classes against the metadata"
        )
    logger.info(
        "Stage %s: %d training recordings with a label in its %d classes "
        "(%d without), %d held out",
        config.name,
        int(labelled.sum()),
        len(classes),
        int((~labelled).sum()),
        len(held_out),
    )
    pseudo = None
    if config.use_pseudo:
        pseudo = build_pseudo_labels(
            pseudo_labels,
            pseudo_thresholds,
            classes,
            preset.segment_samples,
            config.pseudo_mode,
            config.pseudo_min_factor,
        )
    loader = _training_loader(
        train_rows[labelled],
        targets[labelled],
        audio_cache,
        noise_audio,
        classes,
        config,
        preset,
        pseudo,
    )
    unknown_secondary = count_unknown_secondary(train_rows, classes)
    if unknown_secondary:
        logger.info(
            "Stage %s: dropped %d secondary labels outside its classes",
            config.name,
            unknown_secondary,
        )

    held_out_truth = (build_targets(held_out, classes, 1.0) > 0).astype(np.float32)
    validation_sets = []
    if not validation.reference:
        validation_sets = build_validation_sets(
            held_out,
            held_out_truth,
            audio_cache,
            soundscape_audio,
            soundscape_labels,
            classes,
            validation,
            preset.sample_rate,
        )
    validation_loaders = make_loaders(
        validation_sets,
        preset.segment_samples,
        validation.batch_size,
        preset.shift_samples,
    )

    history = EpochHistory()
    best = BestWeights(validation.monitor)
    callbacks = [history, best] + ([FreezeBackbone()] if config.freeze_backbone else [])
    resume_file = None
    if config.resume_dir:
        fingerprint = run_fingerprint(
            {
                "config": dataclasses.asdict(config),
                "validation": validation_params,
                "start": start_digest,
                "classes": list(classes),
                "recordings": list(train_rows["recording_id"]),
            }
        )
        resume_file = resume_path(config.resume_dir, config.name, fingerprint)
        callbacks.append(ResumeCheckpoint(resume_file))
    trainer = L.Trainer(
        max_epochs=config.epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=config.precision,
        logger=CSVLogger(config.log_dir, name=config.name) if config.log_dir else False,
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_train_batches=config.limit_train_batches,
        callbacks=callbacks,
    )
    module = StageModule(model, config, classes, validation_sets)
    with warnings.catch_warnings():
        # Without validation sets (reference switch, or no held-out fold) the
        # skipped validation loop is intended, not a misconfiguration.
        warnings.filterwarnings("ignore", message=".*no `val_dataloader`.*")
        trainer.fit(
            module,
            train_dataloaders=loader,
            val_dataloaders=validation_loaders or None,
            ckpt_path=resume_file if resume_file and resume_file.exists() else None,
        )
    if resume_file is not None:
        resume_file.unlink(missing_ok=True)

    last = make_checkpoint(model.cpu(), classes, config.name, start_digest)
    best_checkpoint = last
    if best.best_state is not None:
        best_model = build_classifier(preset, num_classes=len(classes))
        best_model.load_state_dict(best.best_state)
        best_checkpoint = make_checkpoint(
            best_model, classes, config.name, start_digest
        )
    report = {
        "stage": config.name,
        "preset": preset.name,
        "classes": list(classes),
        "training_recordings": int(labelled.sum()),
        "held_out_recordings": len(held_out),
        "unknown_secondary_labels": unknown_secondary,
        "reference": validation.reference,
        "world_size": trainer.world_size,
        "monitor": validation.monitor,
        "best_epoch": best.best_epoch,
        "best_score": best.best_score,
        "backbone_sha256_start": start_digest,
        "backbone_sha256": last["backbone_sha256"],
        "epochs": history.rows,
        "class_ap": module.class_ap,
    }
    return last, best_checkpoint, report


def select_checkpoint(
    last_checkpoint: dict[str, Any],
    best_checkpoint: dict[str, Any],
    validation_params: dict[str, Any],
) -> dict[str, Any]:
    """Pick the checkpoint the next stage starts from.

    `validation.next_checkpoint` names it; the reference switch always takes
    the last one, as the reference recipe did.
    """
    validation = ValidationConfig(**validation_params)
    if validation.reference or validation.next_checkpoint == "last":
        return last_checkpoint
    return best_checkpoint


def plot_stage_report(history: dict[str, Any]) -> tuple[Figure, Figure]:
    """Draw the stage's training and validation curves and its per-class AP."""
    return plot_curves(history), plot_class_ap(history)
