"""Benchmark inputs of set lengths, tiled from the real test soundscapes."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

from bird_pipeline.audio.decode import check_samples, to_mono_at_rate

logger = logging.getLogger(__name__)

# NOTE: libsndfile 1.2.2 (soundfile 0.14) crashed with a segmentation fault when
# one call wrote 200 s of Ogg Vorbis; writes of 5 s worked.
WRITE_CHUNK_SECONDS = 5


def decode_source_audio(
    test_soundscapes: dict[str, Callable[[], tuple[np.ndarray, int]]],
    sample_rate: int,
) -> np.ndarray:
    """Decode every test soundscape and join them into one mono waveform."""
    waveforms = []
    for name, loader in test_soundscapes.items():
        samples, source_rate = loader()
        check_samples(samples, name)
        waveforms.append(to_mono_at_rate(samples, source_rate, sample_rate))
    return np.concatenate(waveforms)


def write_tiled_audio(
    source: np.ndarray,
    seconds: float,
    path: Path,
    sample_rate: int,
    audio_format: str,
) -> Path:
    """Write `seconds` of `source`, repeated as often as needed, in short chunks.

    Writing a chunk at a time keeps a three-hour file out of memory.

    Args:
        source: Mono waveform at `sample_rate`.
        seconds: Length of the file.
        path: Where to write; the suffix is replaced by the format's.
        sample_rate: Hz.
        audio_format: A soundfile format, e.g. `OGG` (Vorbis, as BirdCLEF
            ships soundscapes) or `FLAC`.

    Returns:
        The written file.
    """
    target = path.with_suffix(f".{audio_format.lower()}")
    remaining = round(seconds * sample_rate)
    with sf.SoundFile(
        str(target), "w", samplerate=sample_rate, channels=1, format=audio_format
    ) as audio:
        position = 0
        while remaining > 0:
            count = min(
                remaining, WRITE_CHUNK_SECONDS * sample_rate, len(source) - position
            )
            audio.write(source[position : position + count])
            position = (position + count) % len(source)
            remaining -= count
    logger.info("Wrote %.0f s of benchmark audio to %s", seconds, target)
    return target
