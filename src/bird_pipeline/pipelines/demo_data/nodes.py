"""Nodes of the `demo_data` pipeline: a small synthetic BirdCLEF data set.

All audio here is SYNTHETIC. Each made-up species `dmo001`, `dmo002`, ... has one
call type with its own pitch band (1.2 to 7.5 kHz centres), pattern (whistle,
up-sweep, down-sweep, trill, two-tone, harmonic stack) and rhythm (call length
and gap), so a small CNN on log-mel spectrograms can tell them apart. The
output has the BirdCLEF layout (`train_metadata.csv`, `taxonomy.csv`,
`train_audio/`, `test_soundscapes/`, `background_noise/`), so the training chain
runs on a fresh machine without a download. Nothing in it resembles real birds.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from bird_pipeline.pipelines.demo_data.audio import Audio
from bird_pipeline.pipelines.demo_data.calls import (
    CallDesign,
    design_species,
    species_names,
)
from bird_pipeline.pipelines.demo_data.noise import synthesize_background_noise
from bird_pipeline.pipelines.demo_data.params import validate_params
from bird_pipeline.pipelines.demo_data.recordings import synthesize_train_audio
from bird_pipeline.pipelines.demo_data.soundscapes import synthesize_soundscapes

logger = logging.getLogger(__name__)

TAXONOMY_COLUMNS = ["primary_label", "scientific_name", "common_name"]


def _taxonomy(designs: list[CallDesign]) -> pd.DataFrame:
    rows = []
    for design in designs:
        scientific_name, common_name = species_names(design)
        rows.append(
            {
                "primary_label": design.label,
                "scientific_name": scientific_name,
                "common_name": common_name,
            }
        )
    return pd.DataFrame(rows, columns=TAXONOMY_COLUMNS)


def synthesize_demo_data(
    params: dict,
) -> tuple[
    pd.DataFrame,
    pd.DataFrame,
    dict[str, Audio],
    dict[str, Audio],
    dict[str, Audio],
    pd.DataFrame,
]:
    """Synthesise a small BirdCLEF-format data set with SYNTHETIC audio.

    Every waveform is mono float32 at `sample_rate`, peak-normalised to 0.5.
    The output depends only on `params`, and the training audio, soundscapes
    and noise files draw from separate random streams spawned from `seed`.

    Args:
        params: `demo_data` parameters, all required:

            - `seed`: seed of `numpy.random.default_rng`.
            - `sample_rate`: in Hz, 22050 to 96000.
            - `species`: number of call types, 1 to 20.
            - `recordings_per_species`: training recordings per species.
            - `recording_seconds`: `[min, max]` length of a training recording.
            - `soundscapes`, `soundscape_seconds`: count and length (s).
            - `noise_files`, `noise_seconds`: count and length (s).
            - `snr_db`: call RMS over noise RMS in training recordings, in dB.
            - `secondary_fraction`: share of training recordings, 0 to 1, with
              a second species 12 dB quieter, listed in `secondary_labels`.

    Returns:
        `train_metadata` (BirdCLEF 2023 columns, all strings), `taxonomy`,
        `train_audio` (`{"<label>/<label>_<k>.ogg": (waveform, sample_rate)}`),
        `test_soundscapes` (`{"demo_soundscape_<i>.ogg": ...}`),
        `background_noise` (`{"demo_noise_<i>.ogg": ...}`) and
        `soundscape_labels` (one row per 5 s window of each soundscape).

    Raises:
        ValueError: A parameter is missing, has the wrong type or is out of range.
    """
    checked = validate_params(params)
    designs = design_species(checked["species"])
    train_rng, soundscape_rng, noise_rng = np.random.default_rng(checked["seed"]).spawn(
        3
    )

    train_metadata, train_audio = synthesize_train_audio(train_rng, designs, checked)
    soundscapes, soundscape_labels = synthesize_soundscapes(
        soundscape_rng, designs, checked
    )
    background_noise = synthesize_background_noise(noise_rng, checked)

    logger.info(
        "Synthesised %d training recordings of %d species (%.1f s of audio), "
        "%d soundscapes and %d noise files, all SYNTHETIC",
        len(train_audio),
        len(designs),
        sum(len(waveform) / rate for waveform, rate in train_audio.values()),
        len(soundscapes),
        len(background_noise),
    )
    return (
        train_metadata,
        _taxonomy(designs),
        train_audio,
        soundscapes,
        background_noise,
        soundscape_labels,
    )
