"""Training recordings of the demo data set and their `train_metadata` rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bird_pipeline.pipelines.demo_data.audio import Audio, peak_normalise
from bird_pipeline.pipelines.demo_data.calls import (
    PITCH_JITTER,
    CallDesign,
    call_onsets,
    species_names,
    synthesize_call,
    tapered_envelope,
)
from bird_pipeline.pipelines.demo_data.noise import random_noise

FADE_SECONDS = 0.2
# Secondary species are mixed 12 dB below the primary calls.
SECONDARY_GAIN = 10.0 ** (-12.0 / 20.0)
RATINGS = ("3.5", "4.0", "4.5", "5.0")

METADATA_COLUMNS = [
    "primary_label",
    "secondary_labels",
    "type",
    "latitude",
    "longitude",
    "scientific_name",
    "common_name",
    "author",
    "license",
    "rating",
    "url",
    "filename",
]


def _mix_calls(
    num_samples: int, call: np.ndarray, onsets: np.ndarray, gains: np.ndarray
) -> np.ndarray:
    """Add `call` scaled by each gain at each onset sample into a silent track."""
    track = np.zeros(num_samples)
    for onset, gain in zip(onsets, gains):
        stop = min(onset + len(call), num_samples)
        track[onset:stop] += gain * call[: stop - onset]
    return track


def _call_track(
    rng: np.random.Generator,
    design: CallDesign,
    num_samples: int,
    sample_rate: int,
) -> np.ndarray:
    """Repeat one species' call through a recording, with per-recording jitter.

    Pitch varies by ±`PITCH_JITTER`, call length by ±10 %, each gap by ±30 %
    and each call's gain between 0.6 and 1.0.

    Returns:
        Call track `(num_samples,)`, float64, silent between calls.
    """
    pitch_factor = rng.uniform(1.0 - PITCH_JITTER, 1.0 + PITCH_JITTER)
    call = synthesize_call(design, pitch_factor, rng.uniform(0.9, 1.1), sample_rate)

    duration = num_samples / sample_rate
    latest_first = max(FADE_SECONDS, duration - FADE_SECONDS - len(call) / sample_rate)
    first_onset = min(
        rng.uniform(FADE_SECONDS, FADE_SECONDS + 0.5 * design.gap_seconds),
        latest_first,
    )
    onsets = call_onsets(
        rng, design, len(call), first_onset, duration - FADE_SECONDS, sample_rate
    )
    gains = rng.uniform(0.6, 1.0, len(onsets))
    return _mix_calls(num_samples, call, onsets, gains)


def _synthesize_recording(
    rng: np.random.Generator,
    primary: CallDesign,
    secondary: CallDesign | None,
    duration: float,
    sample_rate: int,
    snr_db: float,
) -> np.ndarray:
    """Synthesise one training recording: calls over pink or brown noise.

    The noise is scaled so that the RMS of the primary calls, measured over the
    samples where they sound, is `snr_db` above the noise RMS. A secondary
    species, when given, calls 12 dB below the primary one.

    Returns:
        Waveform `(duration * sample_rate,)`, float32, peak `PEAK_LEVEL`.
    """
    num_samples = int(duration * sample_rate)
    calls = _call_track(rng, primary, num_samples, sample_rate)

    sounding = calls != 0.0
    call_rms = float(np.sqrt(np.mean(calls[sounding] ** 2))) if sounding.any() else 1.0
    noise = random_noise(rng, num_samples, sample_rate)
    noise *= call_rms * 10.0 ** (-snr_db / 20.0)

    if secondary is not None:
        secondary_calls = _call_track(rng, secondary, num_samples, sample_rate)
        calls += SECONDARY_GAIN * secondary_calls

    waveform = calls + noise
    waveform *= tapered_envelope(num_samples, int(FADE_SECONDS * sample_rate))
    return peak_normalise(waveform)


def _pick_secondary(
    rng: np.random.Generator,
    designs: list[CallDesign],
    primary_index: np.ndarray,
    fraction: float,
) -> list[CallDesign | None]:
    """Pick `round(fraction * recordings)` recordings and a second species for each."""
    num_recordings = len(primary_index)
    chosen = rng.choice(
        num_recordings, size=round(fraction * num_recordings), replace=False
    )
    secondary: list[CallDesign | None] = [None] * num_recordings
    for recording in chosen:
        # Shift by 1..species-1 so the second species is never the primary one.
        offset = int(rng.integers(1, len(designs)))
        secondary[recording] = designs[
            (primary_index[recording] + offset) % len(designs)
        ]
    return secondary


def _metadata_row(
    design: CallDesign, secondary: CallDesign | None, filename: str, rating: str
) -> dict[str, str]:
    secondary_labels = f"['{secondary.label}']" if secondary is not None else "[]"
    scientific_name, common_name = species_names(design)
    return {
        "primary_label": design.label,
        "secondary_labels": secondary_labels,
        "type": "[]",
        "latitude": "",
        "longitude": "",
        "scientific_name": scientific_name,
        "common_name": common_name,
        "author": "bird_pipeline demo",
        "license": "CC0",
        "rating": rating,
        "url": "",
        "filename": filename,
    }


def synthesize_train_audio(
    rng: np.random.Generator, designs: list[CallDesign], params: dict
) -> tuple[pd.DataFrame, dict[str, Audio]]:
    """Synthesise every training recording and its metadata row.

    Returns:
        `train_metadata` and `{filename: (waveform, sample_rate)}`.
    """
    sample_rate = params["sample_rate"]
    per_species = params["recordings_per_species"]
    primary_index = np.repeat(np.arange(len(designs)), per_species)
    secondary = _pick_secondary(
        rng, designs, primary_index, params["secondary_fraction"]
    )
    shortest, longest = params["recording_seconds"]
    durations = rng.uniform(shortest, longest, len(primary_index))
    ratings = rng.choice(RATINGS, size=len(primary_index))

    rows: list[dict[str, str]] = []
    train_audio: dict[str, Audio] = {}
    for recording, species_index in enumerate(primary_index):
        design = designs[species_index]
        filename = f"{design.label}/{design.label}_{recording % per_species + 1}.ogg"
        waveform = _synthesize_recording(
            rng,
            design,
            secondary[recording],
            float(durations[recording]),
            sample_rate,
            params["snr_db"],
        )
        train_audio[filename] = (waveform, sample_rate)
        rows.append(
            _metadata_row(
                design, secondary[recording], filename, str(ratings[recording])
            )
        )

    return pd.DataFrame(rows, columns=METADATA_COLUMNS), train_audio
