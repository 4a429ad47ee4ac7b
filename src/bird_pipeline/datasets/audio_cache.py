"""The decoded-audio cache: one `.npy` file of mono float32 samples per recording.

Entries that preprocessing writes also get a `<recording_id>.json` info file with
the source file's size and modification time, so a later run decodes only new or
changed files. The `.npy` file is renamed into place before its info file, so an
entry whose info file is missing or stale is decoded again.
"""

from __future__ import annotations

import json
import logging
import mmap
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from kedro.io import AbstractDataset

from bird_pipeline.datasets.atomic import atomic_write

logger = logging.getLogger(__name__)


class AudioCache(Mapping[str, np.ndarray]):
    """Read-only view of the cache; each waveform is memory-mapped on access.

    Keys are recording ids (the metadata `filename`); waveforms are read-only
    `(time,)` float32 arrays at the pipeline sample rate. Each entry's `.npy`
    header is parsed once and remembered, because parsing it costs more than
    mapping the file; load the dataset again after entries are rewritten.
    """

    def __init__(self, root: Path, recording_ids: list[str]) -> None:
        self._root = root
        self._ids = recording_ids
        self._layouts: dict[str, tuple[int, int]] = {}  # data offset, samples

    @property
    def root(self) -> Path:
        """The cache folder."""
        return self._root

    def path_of(self, recording_id: str) -> Path:
        """Return the `.npy` file of a recording."""
        return self._root / f"{recording_id}.npy"

    def info_path_of(self, recording_id: str) -> Path:
        """Return the `.json` info file of a recording."""
        return self._root / f"{recording_id}.json"

    def load_info(self, recording_id: str) -> dict[str, Any] | None:
        """Return the info of a complete entry, or None when it must be decoded.

        An entry is complete when its info file parses and its `.npy` file contains
        exactly the `samples` that the info file records.
        """
        try:
            info = json.loads(self.info_path_of(recording_id).read_text("utf-8"))
            # Memory-mapping reads only the header, and fails on a short file.
            waveform = np.load(self.path_of(recording_id), mmap_mode="r")
        except (OSError, ValueError):
            return None
        if not isinstance(info, dict):
            return None
        if waveform.shape != (info.get("samples"),) or waveform.dtype != np.float32:
            return None
        return info

    def _open(self, recording_id: str) -> BinaryIO:
        path = self.path_of(recording_id)
        try:
            return path.open("rb", buffering=0)
        except FileNotFoundError:
            raise KeyError(
                f"recording {recording_id!r} is not in the audio cache {self._root}; "
                f"run `kedro run --pipelines=preprocess` first"
            ) from None

    def _layout(self, recording_id: str, handle: BinaryIO) -> tuple[int, int]:
        layout = self._layouts.get(recording_id)
        if layout is None:
            layout = _read_layout(handle, self.path_of(recording_id))
            self._layouts[recording_id] = layout
        return layout

    def __getitem__(self, recording_id: str) -> np.ndarray:
        with self._open(recording_id) as handle:
            offset, samples = self._layout(recording_id, handle)
            # The mapping keeps its own descriptor, so the file can close here.
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return np.frombuffer(buffer, dtype="<f4", count=samples, offset=offset)

    def num_samples(self, recording_id: str) -> int:
        """Return the length of a recording's waveform in samples."""
        layout = self._layouts.get(recording_id)
        if layout is None:
            with self._open(recording_id) as handle:
                layout = self._layout(recording_id, handle)
        return layout[1]

    def read_range(self, recording_id: str, start: int, count: int) -> np.ndarray:
        """Read `count` samples from `start` into a new writable float32 array.

        One read call copies the samples from the page cache. That is faster
        for a training crop than mapping the file and copying from the map,
        whose first touch of each page costs a page fault.

        Raises:
            ValueError: The range lies outside the waveform.
        """
        with self._open(recording_id) as handle:
            offset, samples = self._layout(recording_id, handle)
            if start < 0 or count < 0 or start + count > samples:
                raise ValueError(
                    f"samples {start} to {start + count} lie outside recording "
                    f"{recording_id!r} of {samples} samples"
                )
            out = np.empty(count, dtype="<f4")
            handle.seek(offset + 4 * start)
            read = handle.readinto(memoryview(out).cast("B"))
        if read != 4 * count:
            raise ValueError(
                f"{self.path_of(recording_id)} ended after {read} of {4 * count} "
                f"bytes; delete it and run `kedro run --pipelines=preprocess`"
            )
        return out

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


def _read_layout(handle: BinaryIO, path: Path) -> tuple[int, int]:
    """Return the data offset and sample count of a 1-D float32 `.npy` file.

    Raises:
        ValueError: The file contains another dtype or shape.
    """
    version = np.lib.format.read_magic(handle)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(handle)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(handle)
    if len(shape) != 1 or dtype != np.dtype("<f4"):
        raise ValueError(
            f"{path} contains a {dtype} array of shape {shape}, not a 1-D float32 "
            f"waveform; delete it and run `kedro run --pipelines=preprocess`"
        )
    return handle.tell(), shape[0]


def save_npy_blocks(path: Path, blocks: Iterable[np.ndarray]) -> int:
    """Write 1-D float32 blocks as one `.npy` array, holding one block at a time.

    The header is written first for zero samples and rewritten with the final
    count; numpy pads `.npy` headers so the count can grow without moving data.

    Returns:
        The number of samples written.
    """
    with path.open("wb") as handle:
        _write_npy_header(handle, 0)
        data_start = handle.tell()
        samples = 0
        for block in blocks:
            handle.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
            samples += len(block)
        handle.seek(0)
        _write_npy_header(handle, samples)
        if handle.tell() != data_start:
            raise RuntimeError(
                f"the .npy header for {samples} samples does not fit the space "
                f"reserved for it in {path}; numpy's header padding changed"
            )
    return samples


def _write_npy_header(handle: Any, samples: int) -> None:
    header = {"descr": "<f4", "fortran_order": False, "shape": (samples,)}
    np.lib.format.write_array_header_1_0(handle, header)


def write_entry(
    root: Path,
    recording_id: str,
    blocks: Iterable[np.ndarray],
    describe: Callable[[], dict[str, Any]],
) -> dict[str, Any]:
    """Write one cache entry from waveform blocks, then its info file.

    Both files are written atomically, the `.npy` file first. When `blocks`
    raises, nothing is renamed into place and the error propagates.

    Args:
        root: Cache folder.
        recording_id: The entry's key.
        blocks: The waveform in consecutive `(time,)` float32 blocks.
        describe: Returns JSON-serialisable facts about the entry once every
            block is written; `samples` is added to them.

    Returns:
        The info written, `samples` included.
    """
    cache = AudioCache(root, [])
    written: list[int] = []
    atomic_write(
        cache.path_of(recording_id),
        lambda temporary: written.append(save_npy_blocks(temporary, blocks)),
    )
    info = {**describe(), "samples": written[0]}
    text = json.dumps(info, indent=1, allow_nan=False)
    atomic_write(
        cache.info_path_of(recording_id),
        lambda temporary: temporary.write_text(text, encoding="utf-8"),
    )
    return info


def remove_temporary_files(root: Path) -> int:
    """Delete temporary files that an interrupted write left in the cache.

    NOTE: A second run writing into the same cache at the same time would lose
    its in-flight files; run one preprocess per data set at a time.

    Returns:
        The number of files removed.
    """
    stale = [path for path in root.rglob(".*.tmp") if path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:  # a handle stops np.save from appending ".npy"
        np.save(handle, array)
