"""Checkpoint dicts that chain the stages, and loading a backbone into a new head.

A checkpoint is a plain dict that loads under `torch.load(weights_only=True)`:

- `preset`: the `ModelPreset` fields, so every later stage rebuilds the same model;
- `classes`: class codes in output order;
- `stage`: the stage that wrote it (`initial` for the untrained model);
- `state_dict`: encoder (`encoder.*`) and head (`head.*`) weights;
- `backbone_sha256_start` / `backbone_sha256`: digests of the encoder weights when
  the stage started and when it ended, which make the chain checkable.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from typing import Any

import torch

from bird_pipeline.models.classifier import BirdClassifier, build_classifier
from bird_pipeline.models.presets import ModelPreset

logger = logging.getLogger(__name__)

HEAD_PREFIX = "head."


def backbone_digest(model: BirdClassifier) -> str:
    """Return the SHA-256 of the encoder's tensors (parameters and buffers)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def make_checkpoint(
    model: BirdClassifier,
    classes: list[str],
    stage: str,
    backbone_sha256_start: str | None = None,
) -> dict[str, Any]:
    """Pack a model and its metadata into a checkpoint dict."""
    return {
        "preset": dataclasses.asdict(model.preset),
        "classes": list(classes),
        "stage": stage,
        "state_dict": {
            key: value.detach().cpu() for key, value in model.state_dict().items()
        },
        "backbone_sha256_start": backbone_sha256_start,
        "backbone_sha256": backbone_digest(model),
    }


def model_from_checkpoint(checkpoint: dict[str, Any]) -> BirdClassifier:
    """Rebuild the model a checkpoint describes and load all of its weights."""
    preset = ModelPreset(**checkpoint["preset"])
    model = build_classifier(preset, num_classes=len(checkpoint["classes"]))
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    return model


def load_backbone(
    model: BirdClassifier, state_dict: dict[str, torch.Tensor], reinit_head: bool
) -> None:
    """Load a previous stage's weights, optionally keeping the new model's head.

    With `reinit_head`, head keys are dropped by name (`head.*`) and any other
    key whose shape differs is an error. Every encoder key of `model` must be
    loaded: a missing or unexpected encoder key raises, which `strict=False`
    alone would hide.

    Raises:
        RuntimeError: A backbone key is missing, unexpected or of another shape,
            or the head differs while `reinit_head` is off.
    """
    own = model.state_dict()
    incoming = dict(state_dict)
    if reinit_head:
        dropped = [key for key in incoming if key.startswith(HEAD_PREFIX)]
        for key in dropped:
            del incoming[key]
        logger.info("Re-initialised the head: dropped %d head tensors", len(dropped))

    mismatched = [
        f"{key}: {tuple(value.shape)} -> {tuple(own[key].shape)}"
        for key, value in incoming.items()
        if key in own and own[key].shape != value.shape
    ]
    if mismatched:
        raise RuntimeError(
            f"checkpoint tensors do not fit the model: {mismatched[:5]}. A class "
            f"count change needs reinit_head: true for this stage"
        )
    result = model.load_state_dict(incoming, strict=False)
    missing_backbone = [
        key for key in result.missing_keys if not key.startswith(HEAD_PREFIX)
    ]
    if missing_backbone or result.unexpected_keys:
        raise RuntimeError(
            f"backbone weights failed to load: missing {missing_backbone[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}. The checkpoint was written "
            f"for another preset; start the chain again from pretrain_ce"
        )
    if result.missing_keys and not reinit_head:
        raise RuntimeError(
            f"head weights are missing from the checkpoint: {result.missing_keys[:5]}"
        )
