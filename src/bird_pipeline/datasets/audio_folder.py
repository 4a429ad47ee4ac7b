"""A folder of recordings, loaded lazily with one loader per file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from kedro.io import AbstractDataset

from bird_pipeline.audio.decode import read_audio
from bird_pipeline.datasets.atomic import atomic_write

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".ogg", ".mp3", ".flac", ".wav", ".opus")
AudioLoader = Callable[[], tuple[np.ndarray, int]]


@dataclass(frozen=True)
class AudioFile:
    """One recording on disk; calling it reads the whole file with `read_audio`.

    Unlike a closure it is picklable, and block-wise and streaming readers
    (`bird_pipeline.audio.blocks`, `bird_pipeline.inference.stream`) open
    `path` themselves instead of decoding the whole file.
    """

    path: Path

    def __call__(self) -> tuple[np.ndarray, int]:
        return read_audio(self.path)


def _write_audio(path: Path, samples: np.ndarray, sample_rate: int) -> None:
    audio_format = path.suffix.lstrip(".").upper()
    atomic_write(
        path,
        lambda temporary: sf.write(
            str(temporary), samples, sample_rate, format=audio_format
        ),
    )


class AudioFolderDataset(AbstractDataset[dict, dict]):
    """Recordings under a folder, keyed by POSIX path relative to it.

    Loading returns `{relative_path: AudioFile}`; calling one reads that file
    with `read_audio`, so nothing is decoded until a node calls it. A missing
    folder loads as an empty dict, because `test_soundscapes/` and
    `background_noise/` are optional in BirdCLEF layouts. Saving takes
    `{relative_path: (samples, sample_rate)}` and writes each file in the format
    its suffix names.

    Args:
        path: The folder.
        suffixes: File suffixes that count as audio.
    """

    def __init__(self, path: str, suffixes: tuple[str, ...] = AUDIO_SUFFIXES) -> None:
        self._path = Path(path)
        self._suffixes = tuple(suffix.lower() for suffix in suffixes)

    def load(self) -> dict[str, AudioFile]:
        if not self._path.is_dir():
            logger.warning(
                "Audio folder %s does not exist; loading no files", self._path
            )
            return {}
        files = sorted(
            path
            for path in self._path.rglob("*")
            if path.is_file() and path.suffix.lower() in self._suffixes
        )
        return {
            path.relative_to(self._path).as_posix(): AudioFile(path) for path in files
        }

    def save(self, data: dict[str, tuple[np.ndarray, int]]) -> None:
        for relative_path, (samples, sample_rate) in data.items():
            _write_audio(self._path / relative_path, samples, sample_rate)

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "suffixes": self._suffixes}
