"""Versioned dataset for model checkpoints: plain dicts of tensors and metadata."""

from __future__ import annotations

import glob
import os
from pathlib import PurePosixPath
from typing import Any

import torch
from kedro.io.core import (
    AbstractVersionedDataset,
    DatasetError,
    Version,
    VersionNotFoundError,
    get_filepath_str,
)

from bird_pipeline.datasets.atomic import atomic_write


class TorchCheckpointDataset(AbstractVersionedDataset[dict, dict]):
    """Save and load checkpoint dicts with `torch.save` / `torch.load`.

    Checkpoints hold only tensors, strings, numbers, lists and dicts, so they load
    under torch's default `weights_only=True` and never unpickle code.

    Args:
        filepath: Checkpoint file, for example `data/06_models/cnn_b0ns/train_ce.pt`.
        version: Kedro version settings; `versioned: true` in the catalog.
    """

    def __init__(self, filepath: str, version: Version | None = None) -> None:
        super().__init__(
            filepath=PurePosixPath(filepath),
            version=version,
            exists_function=os.path.exists,
            glob_function=glob.glob,
        )

    def load(self) -> dict[str, Any]:
        try:
            load_path = self._get_load_path()
        except VersionNotFoundError as exc:
            raise DatasetError(
                f"no checkpoint found at {self._filepath}: run the pipeline "
                f"that writes it first (the stage before, or `kedro run "
                f"--pipelines=train`), with the same `dataset` and `model` parameters"
            ) from exc
        path = get_filepath_str(load_path, "file")
        return torch.load(path, map_location="cpu", weights_only=True)

    def save(self, data: dict[str, Any]) -> None:
        path = get_filepath_str(self._get_save_path(), "file")
        atomic_write(path, lambda temporary: torch.save(data, temporary))

    def _exists(self) -> bool:
        # `kedro run --only-missing-outputs` calls this to skip finished stages.
        try:
            load_path = self._get_load_path()
        except DatasetError:  # includes VersionNotFoundError: no version yet
            return False
        return os.path.isfile(get_filepath_str(load_path, "file"))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}
