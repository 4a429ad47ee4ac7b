"""Decode `background_noise/` into the cache that noise augmentation reads."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath

import numpy as np

from bird_pipeline.audio.decode import AudioDecodeError, check_samples, to_mono_at_rate

logger = logging.getLogger(__name__)


def decode_background_noise(
    background_noise: dict[str, Callable[[], tuple[np.ndarray, int]]],
    params: dict,
) -> dict[str, np.ndarray]:
    """Decode every background recording to mono at the pipeline sample rate.

    Unreadable or empty noise files are logged and skipped: losing one only
    narrows the augmentation, and no label depends on them.

    Args:
        background_noise: Loaders keyed by path under `background_noise/`.
        params: `preprocess` parameters: `sample_rate` (Hz).

    Returns:
        Waveforms keyed by the file path without its suffix; empty when the
        data set has no `background_noise/` folder.
    """
    sample_rate = int(params["sample_rate"])
    waveforms: dict[str, np.ndarray] = {}
    skipped: list[str] = []
    for name, loader in background_noise.items():
        try:
            samples, source_rate = loader()
            check_samples(samples, f"background noise {name!r}")
            waveform = to_mono_at_rate(samples, source_rate, sample_rate)
        except AudioDecodeError as exc:
            logger.warning("Skipped background noise %s: %s", name, exc)
            skipped.append(name)
            continue
        waveforms[str(PurePosixPath(name).with_suffix(""))] = waveform
    seconds = sum(len(waveform) for waveform in waveforms.values()) / sample_rate
    logger.info(
        "Decoded %d background noise files (%.0f s), skipped %d%s",
        len(waveforms),
        seconds,
        len(skipped),
        f": {skipped}" if skipped else "",
    )
    return waveforms
