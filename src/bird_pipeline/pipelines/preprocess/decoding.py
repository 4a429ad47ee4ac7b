"""Decode recordings into the audio cache in parallel, reusing unchanged entries.

An entry is reused when its info file records the same source size and
modification time (nanoseconds), the same sample rate and the same
`CACHE_FORMAT`. Content hashes are not computed: reading every file to hash it
costs about as much I/O as decoding it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from bird_pipeline.audio.blocks import BlockDecoder
from bird_pipeline.audio.decode import AudioDecodeError
from bird_pipeline.datasets.audio_cache import AudioCache, write_entry

logger = logging.getLogger(__name__)

# Written into every entry's info file; bump it when decoding changes, so that
# entries written by older code are decoded again.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class DecodeTask:
    """One recording to decode into the cache; picklable for worker processes."""

    recording_id: str
    source: Path
    cache_root: Path
    sample_rate: int
    block_seconds: float


@dataclass(frozen=True)
class DecodeResult:
    """The entry info of a decoded recording, or why it could not be decoded."""

    recording_id: str
    info: dict[str, Any] | None = None
    reason: str = ""
    detail: str = ""


def source_signature(source: Path) -> dict[str, int]:
    """Return the size and modification time that mark a source file's version."""
    status = source.stat()
    return {"source_size": status.st_size, "source_mtime_ns": status.st_mtime_ns}


def reusable_info(
    cache: AudioCache, recording_id: str, source: Path, sample_rate: int
) -> dict[str, Any] | None:
    """Return the info of an entry that is complete and matches the source file."""
    info = cache.load_info(recording_id)
    if info is None:
        return None
    expected = {
        "format": CACHE_FORMAT,
        "sample_rate": sample_rate,
        **source_signature(source),
    }
    if any(info.get(key) != value for key, value in expected.items()):
        return None
    return info


def decode_into_cache(task: DecodeTask) -> DecodeResult:
    """Decode one recording block by block and write its cache entry.

    Runs in worker processes. `AudioDecodeError` becomes a result with a reason;
    other errors, such as a full disk, propagate and stop the run.
    """
    signature = source_signature(task.source)
    decoder = BlockDecoder(task.source, task.sample_rate, task.block_seconds)

    def describe() -> dict[str, Any]:
        # Called after the last block, when the decoder has its summary.
        return {
            "format": CACHE_FORMAT,
            "sample_rate": task.sample_rate,
            **signature,
            **asdict(decoder.summary),
        }

    try:
        info = write_entry(
            task.cache_root, task.recording_id, decoder.blocks(), describe
        )
    except AudioDecodeError as exc:
        return DecodeResult(task.recording_id, reason=exc.reason, detail=str(exc))
    return DecodeResult(task.recording_id, info=info)


def resolve_workers(workers: int | None) -> int:
    """Return the worker count: `workers`, or every core this process may use."""
    if workers is None:
        return len(os.sched_getaffinity(0))
    if workers < 1:
        raise ValueError(
            f"preprocess.workers must be at least 1 or null (all cores), got {workers}"
        )
    return workers


def run_decode_tasks(tasks: list[DecodeTask], workers: int) -> Iterable[DecodeResult]:
    """Decode `tasks` in `workers` processes, showing a progress bar.

    With one worker or one task, decoding runs in this process.
    """
    progress = tqdm(total=len(tasks), desc="Decoding", unit="file", disable=None)
    with progress:
        if workers == 1 or len(tasks) <= 1:
            for task in tasks:
                yield decode_into_cache(task)
                progress.update()
            return
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as executor:
            futures = [executor.submit(decode_into_cache, task) for task in tasks]
            for future in as_completed(futures):
                yield future.result()
                progress.update()
