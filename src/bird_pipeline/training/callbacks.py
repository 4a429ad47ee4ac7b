"""Lightning callbacks: backbone freezing and the per-epoch history."""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import BaseFinetuning, Callback


class FreezeBackbone(BaseFinetuning):
    """Freeze the encoder for the whole stage, BatchNorm statistics included.

    `BaseFinetuning.freeze(..., train_bn=False)` stops gradients but a module in
    training mode still updates its running statistics, so the encoder is also
    put in eval mode before every batch.
    """

    def freeze_before_training(self, pl_module: L.LightningModule) -> None:
        self.freeze(pl_module.model.encoder, train_bn=False)

    def finetune_function(self, pl_module, current_epoch, optimizer) -> None:
        """Keep the encoder frozen: nothing is unfrozen later."""

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        pl_module.model.encoder.eval()


class EpochHistory(Callback):
    """Collect the logged epoch metrics and learning rate into `rows`."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_train_epoch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule
    ) -> None:
        metrics = {
            name: float(value)
            for name, value in trainer.callback_metrics.items()
            if name.endswith("_epoch") or not name.endswith("_step")
        }
        row = {
            "epoch": trainer.current_epoch,
            "lr": trainer.optimizers[0].param_groups[0]["lr"],
        }
        row.update(metrics)
        self.rows.append(row)

    def state_dict(self) -> dict[str, list[dict[str, float]]]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, list[dict[str, float]]]) -> None:
        self.rows = list(state_dict["rows"])
