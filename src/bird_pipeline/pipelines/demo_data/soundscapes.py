"""Test soundscapes of the demo data set: call placement and 5 s window labels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bird_pipeline.pipelines.demo_data.audio import Audio, peak_normalise
from bird_pipeline.pipelines.demo_data.calls import (
    PITCH_JITTER,
    CallDesign,
    call_onsets,
    synthesize_call,
)
from bird_pipeline.pipelines.demo_data.noise import random_noise

WINDOW_SECONDS = 5
# Share of soundscape windows that get a calling bout. The rest stay nocall.
ACTIVE_WINDOW_PROBABILITY = 0.6
SOUNDSCAPE_LABEL_COLUMNS = [
    "row_id",
    "soundscape_id",
    "start_second",
    "end_second",
    "birds",
]


@dataclass(frozen=True)
class CallEvent:
    """One call placed in a soundscape.

    Attributes:
        label: Species code.
        start: Index of the call's first sample in the soundscape.
        waveform: The call as mixed in, `(time,)` float32.
    """

    label: str
    start: int
    waveform: np.ndarray


def _active_windows(
    rng: np.random.Generator, num_windows: int, num_full_windows: int
) -> np.ndarray:
    """Choose which 5 s windows get calls.

    One full window is always active, because a bout fits in any full window.
    With two or more windows at least one other window stays empty. So the
    labels of every soundscape contain both species and `nocall`.

    Returns:
        Boolean mask `(num_windows,)`.
    """
    active = rng.random(num_windows) < ACTIVE_WINDOW_PROBABILITY
    forced_window = int(rng.integers(num_full_windows))
    active[forced_window] = True
    if num_windows >= 2 and active.all():
        others = np.delete(np.arange(num_windows), forced_window)
        active[rng.choice(others)] = False
    return active


def _active_run_end(active: np.ndarray, window: int) -> int:
    """Return the index after the end of the run of active windows around `window`."""
    end = window
    while end < len(active) and active[end]:
        end += 1
    return end


def _place_bout(
    rng: np.random.Generator,
    design: CallDesign,
    window: int,
    limit: float,
    sample_rate: int,
    amplitude: float,
) -> list[CallEvent]:
    """Place a bout of 1 to 3 calls that starts in `window` and ends by `limit` (s).

    The bout may run on into the next window, but not past `limit`, so windows
    chosen to stay empty receive no call energy.
    """
    pitch_factor = rng.uniform(1.0 - PITCH_JITTER, 1.0 + PITCH_JITTER)
    call = synthesize_call(design, pitch_factor, rng.uniform(0.9, 1.1), sample_rate)
    call_seconds = len(call) / sample_rate

    window_start = window * WINDOW_SECONDS
    latest_start = min(window_start + WINDOW_SECONDS, limit) - call_seconds
    if latest_start < window_start:
        return []
    first_onset = rng.uniform(window_start, latest_start)
    onsets = call_onsets(rng, design, len(call), first_onset, limit, sample_rate)
    onsets = onsets[: int(rng.integers(1, 4))]

    gains = amplitude * rng.uniform(0.6, 1.0, len(onsets))
    return [
        CallEvent(design.label, int(onset), (gain * call).astype(np.float32))
        for onset, gain in zip(onsets, gains)
    ]


def _place_soundscape_calls(
    rng: np.random.Generator,
    designs: list[CallDesign],
    num_windows: int,
    duration: float,
    sample_rate: int,
    snr_db: float,
) -> list[CallEvent]:
    """Place 1 or 2 bouts of distinct random species in each active window.

    Each bout's RMS over its calls lies between `snr_db - 6` and `snr_db` above
    the unit-RMS background noise.
    """
    num_full_windows = max(int(duration // WINDOW_SECONDS), 1)
    active = _active_windows(rng, num_windows, num_full_windows)
    events: list[CallEvent] = []
    for window in np.flatnonzero(active):
        limit = min(_active_run_end(active, window) * WINDOW_SECONDS, duration)
        bouts = min(int(rng.integers(1, 3)), len(designs))
        for species_index in rng.choice(len(designs), size=bouts, replace=False):
            level_db = snr_db - rng.uniform(0.0, 6.0)
            events += _place_bout(
                rng,
                designs[species_index],
                int(window),
                limit,
                sample_rate,
                10.0 ** (level_db / 20.0),
            )
    return events


def _label_windows(
    events: list[CallEvent], num_windows: int, window_samples: int
) -> list[str]:
    """Label each window with the species whose call energy falls inside it.

    A window lists a species when any non-zero sample of one of its calls lies
    inside it. Windows without one are `nocall`.

    Returns:
        One label per window: sorted, space-separated species codes or `nocall`.
    """
    species_by_window: list[set[str]] = [set() for _ in range(num_windows)]
    for event in events:
        first_window = event.start // window_samples
        last_window = (event.start + len(event.waveform) - 1) // window_samples
        for window in range(first_window, min(last_window, num_windows - 1) + 1):
            begin = max(window * window_samples - event.start, 0)
            end = (window + 1) * window_samples - event.start
            if np.any(event.waveform[begin:end] != 0.0):
                species_by_window[window].add(event.label)
    return [" ".join(sorted(labels)) or "nocall" for labels in species_by_window]


def _soundscape_label_rows(soundscape_id: str, birds: list[str]) -> list[dict]:
    return [
        {
            "row_id": f"{soundscape_id}_{(window + 1) * WINDOW_SECONDS}",
            "soundscape_id": soundscape_id,
            "start_second": window * WINDOW_SECONDS,
            "end_second": (window + 1) * WINDOW_SECONDS,
            "birds": label,
        }
        for window, label in enumerate(birds)
    ]


def synthesize_soundscapes(
    rng: np.random.Generator, designs: list[CallDesign], params: dict
) -> tuple[dict[str, Audio], pd.DataFrame]:
    """Synthesise the test soundscapes and one label row per 5 s window.

    Returns:
        `{filename: (waveform, sample_rate)}` and the `soundscape_labels` table.
    """
    sample_rate = params["sample_rate"]
    duration = params["soundscape_seconds"]
    num_samples = int(duration * sample_rate)
    window_samples = WINDOW_SECONDS * sample_rate
    num_windows = math.ceil(num_samples / window_samples)

    soundscapes: dict[str, Audio] = {}
    rows: list[dict] = []
    for index in range(1, params["soundscapes"] + 1):
        soundscape_id = f"demo_soundscape_{index}"
        events = _place_soundscape_calls(
            rng, designs, num_windows, duration, sample_rate, params["snr_db"]
        )

        waveform = random_noise(rng, num_samples, sample_rate)
        for event in events:
            stop = min(event.start + len(event.waveform), num_samples)
            waveform[event.start : stop] += event.waveform[: stop - event.start]

        soundscapes[f"{soundscape_id}.ogg"] = (peak_normalise(waveform), sample_rate)
        birds = _label_windows(events, num_windows, window_samples)
        rows += _soundscape_label_rows(soundscape_id, birds)

    return soundscapes, pd.DataFrame(rows, columns=SOUNDSCAPE_LABEL_COLUMNS)
