"""Per-stage training settings, read from `conf/base/parameters_<stage>.yml`."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

LOSSES = ("ce", "bce")
PSEUDO_MODES = ("factor", "soft")
# `ddp_spawn` and `ddp_notebook` are left out: the stage already runs in its
# own subprocess, and spawned workers would have to pickle the whole module.
DDP_STRATEGIES = ("ddp", "ddp_find_unused_parameters_true")


@dataclass(frozen=True)
class StageConfig:
    """Settings of one training stage."""

    name: str  # pretrain_ce, pretrain_bce, train_ce, train_bce or finetune
    loss: str  # "ce" (softmax cross-entropy) or "bce" (sigmoid BCE with logits)
    label_smoothing: float  # CE only; the BirdCLEF 2023 second-place recipe uses 0.1
    epochs: int
    lr: float  # peak learning rate of the cosine schedule
    min_lr: float  # floor of the cosine schedule
    weight_decay: float  # Adam's L2 term
    # Epochs of the first cosine cycle (CosineAnnealingWarmRestarts T_0); null
    # gives one cycle over the whole stage.
    restart_epochs: int | None
    restart_mult: int  # each later cycle is this many times longer (T_mult)
    batch_size: int  # clips per step
    seed: int
    clip_seconds: float  # training crop; a multiple of the preset's segment length
    secondary_target: float  # target for secondary labels (primary labels get 1.0)
    weighted_sampler: bool  # draw recordings with weight 1 / class count
    min_rating_weight: float  # loss weight of the lowest rating; 5 stars weigh 1.0
    unrated_weight: float  # loss weight of a rating of 0 (unrated) or a missing one
    non_target_weight: float  # loss factor for a primary label outside the classes
    reinit_head: bool  # drop the previous head (its class count may differ)
    freeze_backbone: bool  # train the head only, backbone and its BatchNorm frozen
    frame_loss_weight: float  # SED: weight of the loss on max-over-frames logits
    augment: (
        dict[str, Any] | None
    )  # waveform augmentations (AugmentConfig fields); null: none
    mixup_prob: float  # share of clips summed with partner clips of the batch
    mixup_max_clips: int  # 2 or 3 clips in one mix
    spec_mixup_prob: float  # share of clips blended with a partner on the mel
    spec_mixup_alpha: float  # Beta(alpha, alpha) draws the blend weight
    spec_augment: (
        dict[str, Any] | None
    )  # mel masking and frequency ramp (SpecAugmentConfig fields); null: none
    # Scale crop targets by the `pseudo_label` pipeline's window predictions.
    use_pseudo: bool
    pseudo_mode: str  # "factor" (prediction over class threshold) or "soft"
    pseudo_min_factor: float  # lowest factor a labelled target is scaled by
    num_workers: int  # DataLoader worker processes
    limit_train_batches: float  # fraction (<= 1.0) or count (> 1) of batches per epoch
    # Folder of the per-epoch resume files of interrupted stages; null: no resume.
    resume_dir: str | None
    # Folder of Lightning's CSV logs (one version folder per run); null: none.
    log_dir: str | None
    accelerator: str  # "auto", "cpu" or "gpu"
    devices: int  # devices per node; more than 1 in total trains with DDP
    num_nodes: int  # machines in a multi-node DDP run
    strategy: str  # Lightning strategy: "auto" for one device, "ddp" for several
    precision: str  # Lightning precision, e.g. "32-true" or "16-mixed"

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(
                f"stage {self.name!r}: unknown loss {self.loss!r}; "
                f"choose one of {LOSSES}"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                f"stage {self.name!r}: epochs and batch_size must be at least 1, "
                f"got {self.epochs} and {self.batch_size}"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"stage {self.name!r}: label_smoothing must be in [0, 1), "
                f"got {self.label_smoothing}"
            )
        if self.pseudo_mode not in PSEUDO_MODES:
            raise ValueError(
                f"stage {self.name!r}: unknown pseudo_mode {self.pseudo_mode!r}; "
                f"choose one of {PSEUDO_MODES}"
            )
        if self.restart_epochs is not None and self.restart_epochs < 1:
            raise ValueError(
                f"stage {self.name!r}: restart_epochs must be 1 or more, or null "
                f"for one cycle per stage, got {self.restart_epochs}"
            )
        if self.restart_mult < 1:
            raise ValueError(
                f"stage {self.name!r}: restart_mult must be 1 or more, "
                f"got {self.restart_mult}"
            )
        for name in ("mixup_prob", "spec_mixup_prob"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"stage {self.name!r}: {name} must be in [0, 1], got {value}"
                )
        if self.devices < 1 or self.num_nodes < 1:
            raise ValueError(
                f"stage {self.name!r}: devices and num_nodes must be at least 1, "
                f"got {self.devices} and {self.num_nodes}"
            )
        if self.devices * self.num_nodes > 1 and self.strategy not in DDP_STRATEGIES:
            raise ValueError(
                f"stage {self.name!r}: {self.devices * self.num_nodes} devices need "
                f"a DDP strategy, one of {DDP_STRATEGIES}; got {self.strategy!r}"
            )
        if self.clip_seconds <= 0:
            raise ValueError(
                f"stage {self.name!r}: clip_seconds must be positive, "
                f"got {self.clip_seconds}"
            )

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> StageConfig:
        """Build the config from a parameter block, naming missing or unknown keys."""
        expected = {field.name for field in fields(cls)}
        missing = expected - set(params)
        unknown = set(params) - expected
        if missing or unknown:
            raise ValueError(
                f"stage parameters {params.get('name', '?')!r}: missing keys "
                f"{sorted(missing)}, unknown keys {sorted(unknown)}"
            )
        return cls(**params)
