"""The decoded-audio cache: one `.npy` file of mono float32 samples per recording."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from kedro.io import AbstractDataset

from bird_pipeline.datasets.atomic import atomic_write

logger = logging.getLogger(__name__)


class AudioCache(Mapping[str, np.ndarray]):
    """Read-only view of the cache; each waveform is memory-mapped on access.

    Keys are recording ids (the metadata `filename`); waveforms are `(time,)`
    float32 at the pipeline sample rate.
    """

    def __init__(self, root: Path, recording_ids: list[str]) -> None:
        self._root = root
        self._ids = recording_ids

    def path_of(self, recording_id: str) -> Path:
        """Return the `.npy` file of a recording."""
        return self._root / f"{recording_id}.npy"

    def __getitem__(self, recording_id: str) -> np.ndarray:
        path = self.path_of(recording_id)
        if not path.is_file():
            raise KeyError(
                f"recording {recording_id!r} is not in the audio cache {self._root}; "
                f"run `kedro run --pipelines=preprocess` first"
            )
        return np.load(path, mmap_mode="r")

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)


class AudioCacheDataset(AbstractDataset[Mapping[str, np.ndarray], AudioCache]):
    """Folder of `<recording_id>.npy` waveforms, written atomically one by one.

    Args:
        path: Cache folder, for example `data/02_intermediate/audio_cache`.
    """

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def load(self) -> AudioCache:
        ids = sorted(
            path.relative_to(self._path).as_posix()[: -len(".npy")]
            for path in self._path.rglob("*.npy")
        )
        return AudioCache(self._path, ids)

    def save(self, data: Mapping[str, np.ndarray]) -> None:
        for recording_id, waveform in data.items():
            array = np.ascontiguousarray(waveform, dtype=np.float32)
            atomic_write(
                self._path / f"{recording_id}.npy",
                lambda temporary, array=array: _save_npy(temporary, array),
            )
        logger.info("Wrote %d waveforms to the audio cache %s", len(data), self._path)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:  # a handle stops np.save from appending ".npy"
        np.save(handle, array)
