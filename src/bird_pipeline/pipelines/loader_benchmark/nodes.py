"""Time the training loader on cache crops against decoding every item from its file.

Both loaders yield the same items: a random `clip_seconds` crop of a recording
as float32 at the pipeline sample rate, through a `torch.utils.data.DataLoader`
with the same batch size, sampler and worker count. The cache loader is the
training `ClipDataset`. The on-the-fly loader reads the whole file with
soundfile, downmixes and resamples it, then crops, as many public BirdCLEF
notebooks do.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from bird_pipeline.audio.decode import read_audio, to_mono_at_rate
from bird_pipeline.datasets.audio_folder import AudioFile
from bird_pipeline.inference.machine import describe_machine
from bird_pipeline.metadata import index_by_normalised_name
from bird_pipeline.training.data import ClipDataset, crop_or_tile

logger = logging.getLogger(__name__)


class DecodeOnTheFlyDataset(Dataset):
    """Random crops decoded from the source files on every access.

    Args:
        files: Audio file of each recording, in dataset order.
        sample_rate: Output sample rate in Hz.
        clip_samples: Crop length in samples.
    """

    def __init__(self, files: list[AudioFile], sample_rate: int, clip_samples: int):
        self.files = files
        self.sample_rate = sample_rate
        self.clip_samples = clip_samples

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:
        samples, source_rate = read_audio(self.files[index].path)
        waveform = to_mono_at_rate(samples, source_rate, self.sample_rate)
        clip, _ = crop_or_tile(waveform, self.clip_samples)
        return torch.from_numpy(clip)


def _time_loader(dataset: Dataset, params: dict, seed: int) -> dict[str, float]:
    """Draw `items` random items through a DataLoader; return count and seconds."""
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(
        dataset, replacement=True, num_samples=int(params["items"]), generator=generator
    )
    loader = DataLoader(
        dataset,
        batch_size=int(params["batch_size"]),
        sampler=sampler,
        num_workers=int(params["num_workers"]),
    )
    start = time.perf_counter()
    items = 0
    for batch in loader:
        clips = batch[0] if isinstance(batch, list | tuple) else batch
        items += len(clips)
    seconds = time.perf_counter() - start
    return {
        "items": items,
        "seconds": round(seconds, 4),
        "samples_per_second": round(items / seconds, 2),
    }


def benchmark_loaders(
    recordings: pd.DataFrame,
    audio_cache: Mapping[str, np.ndarray],
    train_audio: Mapping[str, AudioFile],
    params: dict,
) -> dict[str, Any]:
    """Time the cache loader and the decode-on-the-fly loader on the same recordings.

    Args:
        recordings: The decoded recordings table of `preprocess`.
        audio_cache: The cache those recordings were decoded into.
        train_audio: The source files, keyed by path under `train_audio/`.
        params: `loader_benchmark` parameters: `sample_rate`, `clip_seconds`,
            `items`, `batch_size`, `num_workers`, `max_recordings`, `seed` and
            `warmup_items`.

    Returns:
        The report: per-loader items, seconds and samples per second, the
        speed-up of the cache, the recordings used and the machine.

    Raises:
        ValueError: `recordings` is empty.
    """
    if not len(recordings):
        raise ValueError(
            "no decoded recordings to benchmark; run `kedro run --pipelines=preprocess`"
        )
    sample_rate = int(params["sample_rate"])
    clip_samples = round(float(params["clip_seconds"]) * sample_rate)
    selected = recordings.sort_values("recording_id").head(
        int(params["max_recordings"])
    )
    files = index_by_normalised_name(train_audio)
    source_files = [files[recording_id] for recording_id in selected["recording_id"]]

    cached = ClipDataset(
        selected,
        np.zeros((len(selected), 1), dtype=np.float32),
        np.ones(len(selected), dtype=np.float32),
        audio_cache,
        clip_samples,
    )
    on_the_fly = DecodeOnTheFlyDataset(source_files, sample_rate, clip_samples)
    warmup = {**params, "items": int(params["warmup_items"])}
    seed = int(params["seed"])
    threads = torch.get_num_threads()
    # DataLoader workers run with one torch thread; so does the main process
    # here, because with num_workers=0 batches are collated in it and a thread
    # pool on busy cores made collation ten times slower on the shared machine.
    torch.set_num_threads(1)
    try:
        # Warm both: the first reads fill the page cache for either loader.
        _time_loader(cached, warmup, seed)
        _time_loader(on_the_fly, warmup, seed)
        cache_result = _time_loader(cached, params, seed)
        decode_result = _time_loader(on_the_fly, params, seed)
    finally:
        torch.set_num_threads(threads)
    speedup = cache_result["samples_per_second"] / decode_result["samples_per_second"]
    logger.info(
        "Loader throughput: cache %.1f samples/s, decode on the fly %.1f samples/s "
        "(%.1fx)",
        cache_result["samples_per_second"],
        decode_result["samples_per_second"],
        speedup,
    )
    return {
        "cache": cache_result,
        "decode_on_the_fly": decode_result,
        "speedup": round(speedup, 2),
        "recordings": len(selected),
        "mean_recording_seconds": round(float(selected["duration_seconds"].mean()), 2),
        "clip_seconds": float(params["clip_seconds"]),
        "batch_size": int(params["batch_size"]),
        "num_workers": int(params["num_workers"]),
        "torch_threads": 1,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "machine": describe_machine(),
    }
