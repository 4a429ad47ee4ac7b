"""Resume an interrupted stage from its last finished epoch.

After every training epoch (validation included) the stage writes a Lightning
checkpoint with the weights, optimiser, schedule, loop counters, callback state
and the Python, NumPy and torch random states. A stage started again with the
same settings and starting weights continues from that epoch; a finished stage
deletes its file. The file name carries a fingerprint of the settings, so a
changed configuration starts afresh instead of resuming someone else's run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback

from bird_pipeline.datasets.atomic import atomic_write

logger = logging.getLogger(__name__)


def run_fingerprint(settings: dict[str, Any]) -> str:
    """Return a short SHA-256 of JSON-serialisable run settings."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def resume_path(resume_dir: str, stage: str, fingerprint: str) -> Path:
    """Return the stage's resume file and delete files left by other settings.

    Temporary files of a write that was killed half-way are deleted too.
    """
    folder = Path(resume_dir)
    path = folder / f"{stage}-{fingerprint}.ckpt"
    for partial in folder.glob(f".{stage}-*.tmp"):
        logger.warning("Removing partial resume file %s", partial)
        partial.unlink()
    for stale in folder.glob(f"{stage}-*.ckpt"):
        if stale != path:
            logger.warning(
                "Removing resume file %s: it was written with other settings", stale
            )
            stale.unlink()
    return path


def _capture_rng() -> dict[str, Any]:
    """Return the random states as tensors and plain values.

    Lightning loads resume files with `weights_only=True`, which rejects NumPy
    arrays, so NumPy's key array is stored as a tensor.
    """
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position],
        "numpy_gauss": [has_gauss, cached_gaussian],
        "torch": torch.get_rng_state(),
    }


def _restore_rng(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    name, keys, position = states["numpy"]
    has_gauss, cached_gaussian = states["numpy_gauss"]
    np.random.set_state(
        (name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian)
    )
    torch.set_rng_state(states["torch"])


class ResumeCheckpoint(Callback):
    """Write the resume file at the end of every training epoch.

    Put it last in the callback list, so the other callbacks have recorded the
    epoch before their state is saved.

    Args:
        path: The resume file, written atomically.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_epoch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule
    ) -> None:
        if trainer.is_global_zero:
            atomic_write(self.path, trainer.save_checkpoint)
        else:
            # Under DDP every rank must join the call, but only rank 0 writes.
            trainer.save_checkpoint(self.path)
        logger.info(
            "Saved resume state after epoch %d to %s", trainer.current_epoch, self.path
        )

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        checkpoint["rng_states"] = _capture_rng()

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict
    ) -> None:
        _restore_rng(checkpoint["rng_states"])
        logger.info("Resuming from %s after epoch %d", self.path, checkpoint["epoch"])
