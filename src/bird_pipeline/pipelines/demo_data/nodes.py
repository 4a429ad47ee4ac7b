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
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.fft

logger = logging.getLogger(__name__)

MAX_SPECIES = 20
WINDOW_SECONDS = 5
PEAK_LEVEL = 0.5
FADE_SECONDS = 0.2
# Lowest and highest call centre frequency in Hz. Sweeps and the two-tone
# pattern reach 1.25 times the centre, and pitch jitter adds 3 %, so the highest
# main component is about 9.7 kHz and needs a sample rate of at least 22050 Hz.
# Harmonic stacks add overtones up to 0.45 times the sample rate.
LOWEST_CENTRE_HZ = 1200.0
HIGHEST_CENTRE_HZ = 7500.0
MIN_SAMPLE_RATE = 22050
PITCH_JITTER = 0.03
# Secondary species are mixed 12 dB below the primary calls.
SECONDARY_GAIN = 10.0 ** (-12.0 / 20.0)
# Share of soundscape windows that get a calling bout. The rest stay nocall.
ACTIVE_WINDOW_PROBABILITY = 0.6
NOISE_EXPONENTS = {"pink": 1.0, "brown": 2.0}
# Below this frequency the noise spectrum is flat, so brown noise is not all rumble.
NOISE_CORNER_HZ = 50.0
RATINGS = ("3.5", "4.0", "4.5", "5.0")

# Pattern name, base call length (s) and base gap between calls (s).
_PATTERNS = (
    ("whistle", 0.45, 0.55),
    ("up-sweep", 0.18, 0.35),
    ("down-sweep", 0.30, 0.80),
    ("trill", 0.90, 0.60),
    ("two-tone", 0.60, 0.40),
    ("harmonic stack", 0.25, 1.00),
)

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
TAXONOMY_COLUMNS = ["primary_label", "scientific_name", "common_name"]
SOUNDSCAPE_LABEL_COLUMNS = [
    "row_id",
    "soundscape_id",
    "start_second",
    "end_second",
    "birds",
]

Audio = tuple[np.ndarray, int]


@dataclass(frozen=True)
class CallDesign:
    """One synthetic species' call type.

    Attributes:
        label: Species code, e.g. `dmo001`.
        pattern: One of the `_PATTERNS` names.
        centre_hz: Centre frequency in Hz.
        call_seconds: Length of one call in seconds.
        gap_seconds: Silence between calls in seconds.
        pulse_rate_hz: Pulses per second of a trill; unused by other patterns.
    """

    label: str
    pattern: str
    centre_hz: float
    call_seconds: float
    gap_seconds: float
    pulse_rate_hz: float


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


# --- Parameters -----------------------------------------------------------------


def _require_number(
    params: Mapping, key: str, low: float, high: float, integer: bool
) -> float:
    if key not in params:
        raise ValueError(
            f"demo_data parameter '{key}' is missing; add it under demo_data in "
            f"the parameters file"
        )
    value = params[key]
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = "an integer" if integer else "a number"
        raise ValueError(
            f"demo_data.{key} must be {expected}, got {value!r}; write a plain "
            f"number between {low} and {high}"
        )
    if not low <= value <= high:
        raise ValueError(
            f"invalid demo_data.{key}={value!r}: it must be between {low} and "
            f"{high}; set it in that range"
        )
    return value


def _validate_recording_seconds(value: object) -> tuple[float, float]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(
            isinstance(item, (int, float)) and not isinstance(item, bool)
            for item in value
        )
    ):
        raise ValueError(
            f"demo_data.recording_seconds must be [min, max] in seconds, got "
            f"{value!r}; write it as e.g. [6.0, 14.0]"
        )
    shortest, longest = float(value[0]), float(value[1])
    if not 3.0 <= shortest <= longest <= 120.0:
        raise ValueError(
            f"invalid demo_data.recording_seconds={list(value)}: need "
            f"3.0 <= min <= max <= 120.0 seconds so that every recording holds a "
            f"whole call"
        )
    return shortest, longest


PARAM_KEYS = (
    "seed",
    "sample_rate",
    "species",
    "recordings_per_species",
    "recording_seconds",
    "soundscapes",
    "soundscape_seconds",
    "noise_files",
    "noise_seconds",
    "snr_db",
    "secondary_fraction",
)


def _validate_params(params: Mapping) -> dict:
    """Check every `demo_data` parameter and return them with plain types.

    Unknown keys are logged as a warning and ignored.

    Raises:
        ValueError: A key is missing, has the wrong type or is out of range.
    """
    unknown = sorted(set(params) - set(PARAM_KEYS))
    if unknown:
        logger.warning(
            "Ignoring unknown demo_data parameters %s; the known ones are %s",
            unknown,
            list(PARAM_KEYS),
        )

    checked = {
        "seed": int(_require_number(params, "seed", 0, 2**63 - 1, integer=True)),
        "sample_rate": int(
            _require_number(params, "sample_rate", MIN_SAMPLE_RATE, 96000, integer=True)
        ),
        "species": int(
            _require_number(params, "species", 1, MAX_SPECIES, integer=True)
        ),
        "recordings_per_species": int(
            _require_number(params, "recordings_per_species", 1, 200, integer=True)
        ),
        "soundscapes": int(_require_number(params, "soundscapes", 0, 50, integer=True)),
        "soundscape_seconds": float(
            _require_number(params, "soundscape_seconds", 5.0, 600.0, integer=False)
        ),
        "noise_files": int(_require_number(params, "noise_files", 0, 50, integer=True)),
        "noise_seconds": float(
            _require_number(params, "noise_seconds", 1.0, 600.0, integer=False)
        ),
        "snr_db": float(_require_number(params, "snr_db", -10.0, 40.0, integer=False)),
        "secondary_fraction": float(
            _require_number(params, "secondary_fraction", 0.0, 1.0, integer=False)
        ),
    }
    if "recording_seconds" not in params:
        raise ValueError(
            "demo_data parameter 'recording_seconds' is missing; add it under "
            "demo_data in the parameters file, e.g. [6.0, 14.0]"
        )
    checked["recording_seconds"] = _validate_recording_seconds(
        params["recording_seconds"]
    )

    if checked["species"] == 1 and checked["secondary_fraction"] > 0:
        raise ValueError(
            f"demo_data.secondary_fraction={checked['secondary_fraction']} needs "
            f"at least 2 species, but species=1; raise species or set "
            f"secondary_fraction to 0"
        )
    return checked


# --- Species designs ------------------------------------------------------------


def _design_species(species: int) -> list[CallDesign]:
    """Build the call types of `species` synthetic species.

    Centre frequencies are spaced geometrically from `LOWEST_CENTRE_HZ` to
    `HIGHEST_CENTRE_HZ`. Patterns cycle through `_PATTERNS`, and each further
    cycle lengthens the calls and gaps and speeds up the trill, so species that
    share a pattern still differ in rhythm. The designs depend on the species
    index only, not on the seed.

    With more than about 8 species the pitch bands of neighbours overlap, and
    their patterns and rhythms tell them apart. Species that share a pattern are
    6 indices apart, so their centres differ by a factor of at least 1.78.
    """
    designs = []
    for index in range(species):
        position = index / (species - 1) if species > 1 else 0.5
        centre_hz = (
            LOWEST_CENTRE_HZ * (HIGHEST_CENTRE_HZ / LOWEST_CENTRE_HZ) ** position
        )
        pattern, call_seconds, gap_seconds = _PATTERNS[index % len(_PATTERNS)]
        cycle = index // len(_PATTERNS)
        designs.append(
            CallDesign(
                label=f"dmo{index + 1:03d}",
                pattern=pattern,
                centre_hz=centre_hz,
                call_seconds=call_seconds * (1.0 + 0.25 * cycle),
                gap_seconds=gap_seconds * (1.0 + 0.35 * cycle),
                pulse_rate_hz=16.0 + 7.0 * cycle,
            )
        )
    return designs


# --- Signal building blocks -----------------------------------------------------


def _colored_noise(
    rng: np.random.Generator, num_samples: int, sample_rate: int, exponent: float
) -> np.ndarray:
    """Shape white noise to a `1 / f**exponent` power spectrum (1 pink, 2 brown).

    The noise is shaped at the next FFT-friendly length and then cut to
    `num_samples`, because an FFT of a length with large prime factors is
    orders of magnitude slower.

    Returns:
        Noise `(num_samples,)`, float32, zero mean and unit RMS.
    """
    fft_length = scipy.fft.next_fast_len(num_samples, real=True)
    white = rng.standard_normal(fft_length, dtype=np.float32)
    spectrum = scipy.fft.rfft(white)
    frequencies = scipy.fft.rfftfreq(fft_length, d=1.0 / sample_rate)
    gain = np.maximum(frequencies, NOISE_CORNER_HZ) ** (-exponent / 2.0)
    spectrum *= gain.astype(np.float32)
    spectrum[0] = 0.0
    noise = scipy.fft.irfft(spectrum, n=fft_length)[:num_samples]
    noise -= noise.mean()
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def _random_noise(
    rng: np.random.Generator, num_samples: int, sample_rate: int
) -> np.ndarray:
    """Draw pink or brown noise with equal probability, at unit RMS."""
    exponent = float(rng.choice(list(NOISE_EXPONENTS.values())))
    return _colored_noise(rng, num_samples, sample_rate, exponent)


def _tapered_envelope(num_samples: int, ramp_samples: int) -> np.ndarray:
    """Build a flat envelope with raised-cosine ramps that start and end at 0."""
    envelope = np.ones(num_samples)
    ramp = min(ramp_samples, num_samples // 2)
    if ramp > 0:
        rise = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
        envelope[:ramp] = rise
        envelope[num_samples - ramp :] = rise[::-1]
    return envelope


def _instantaneous_frequency(
    design: CallDesign, centre_hz: float, time: np.ndarray
) -> np.ndarray:
    """Return the frequency track in Hz of one call, sampled at `time` seconds."""
    progress = time / max(float(time[-1]), 1e-9)
    if design.pattern == "up-sweep":
        return centre_hz * 0.8 * (1.25 / 0.8) ** progress
    if design.pattern == "down-sweep":
        return centre_hz * 1.25 * (0.8 / 1.25) ** progress
    if design.pattern == "two-tone":
        segment = np.floor(progress * 4.0).astype(int) % 2
        return np.where(segment == 0, centre_hz, centre_hz * 1.25)
    return np.full_like(time, centre_hz)


def _harmonic_stack(
    phase: np.ndarray, centre_hz: float, sample_rate: int
) -> np.ndarray:
    """Sum harmonics 1 to 4 of a fundamental at half the centre frequency.

    The second harmonic, at the centre frequency, is the loudest, so the
    dominant frequency stays in the species' band. Harmonics at or above 0.45
    times the sample rate are left out to avoid aliasing.
    """
    fundamental_phase = phase / 2.0
    call = np.zeros_like(phase)
    for harmonic, amplitude in zip(range(1, 5), (0.3, 1.0, 0.5, 0.25)):
        if harmonic * centre_hz / 2.0 < 0.45 * sample_rate:
            call += amplitude * np.sin(harmonic * fundamental_phase)
    return call


def _synthesize_call(
    design: CallDesign, pitch_factor: float, length_factor: float, sample_rate: int
) -> np.ndarray:
    """Synthesise one call of a species.

    Args:
        design: The species' call type.
        pitch_factor: Multiplies every frequency, e.g. 1.02 for 2 % higher.
        length_factor: Multiplies the call length.
        sample_rate: Sample rate in Hz.

    Returns:
        Call waveform `(time,)`, float64, with unit RMS.
    """
    num_samples = max(int(design.call_seconds * length_factor * sample_rate), 16)
    time = np.arange(num_samples) / sample_rate
    frequency = _instantaneous_frequency(design, design.centre_hz * pitch_factor, time)
    # Integrating the frequency keeps the phase continuous through sweeps and jumps.
    phase = 2.0 * np.pi * np.cumsum(frequency) / sample_rate

    if design.pattern == "harmonic stack":
        call = _harmonic_stack(phase, float(frequency.max()), sample_rate)
    else:
        call = np.sin(phase)

    if design.pattern == "trill":
        pulse_phase = np.mod(time * design.pulse_rate_hz, 1.0)
        call *= np.sin(np.pi * pulse_phase) ** 2

    call *= _tapered_envelope(num_samples, int(0.01 * sample_rate))
    return call / max(float(np.sqrt(np.mean(call**2))), 1e-12)


def _call_onsets(
    rng: np.random.Generator,
    design: CallDesign,
    call_samples: int,
    first_onset: float,
    end: float,
    sample_rate: int,
) -> np.ndarray:
    """Draw call start samples from `first_onset` (s) while calls end before `end` (s).

    Gaps vary by ±30 % around the species gap. Returns at least the first onset
    when the first call fits, else an empty array.
    """
    call_seconds = call_samples / sample_rate
    max_calls = int((end - first_onset) / (call_seconds + 0.7 * design.gap_seconds)) + 2
    steps = call_seconds + design.gap_seconds * rng.uniform(0.7, 1.3, max_calls)
    onsets = first_onset + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    onsets = onsets[onsets + call_seconds <= end]
    return np.round(onsets * sample_rate).astype(np.int64)


def _mix_calls(
    num_samples: int, call: np.ndarray, onsets: np.ndarray, gains: np.ndarray
) -> np.ndarray:
    """Add `call` scaled by each gain at each onset sample into a silent track."""
    track = np.zeros(num_samples)
    for onset, gain in zip(onsets, gains):
        stop = min(onset + len(call), num_samples)
        track[onset:stop] += gain * call[: stop - onset]
    return track


def _peak_normalise(waveform: np.ndarray) -> np.ndarray:
    """Scale to a peak of `PEAK_LEVEL` and return float32."""
    peak = max(float(np.max(np.abs(waveform))), 1e-12)
    return (waveform * (PEAK_LEVEL / peak)).astype(np.float32)


# --- Training recordings --------------------------------------------------------


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
    call = _synthesize_call(design, pitch_factor, rng.uniform(0.9, 1.1), sample_rate)

    duration = num_samples / sample_rate
    latest_first = max(FADE_SECONDS, duration - FADE_SECONDS - len(call) / sample_rate)
    first_onset = min(
        rng.uniform(FADE_SECONDS, FADE_SECONDS + 0.5 * design.gap_seconds),
        latest_first,
    )
    onsets = _call_onsets(
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
    noise = _random_noise(rng, num_samples, sample_rate)
    noise *= call_rms * 10.0 ** (-snr_db / 20.0)

    if secondary is not None:
        secondary_calls = _call_track(rng, secondary, num_samples, sample_rate)
        calls += SECONDARY_GAIN * secondary_calls

    waveform = calls + noise
    waveform *= _tapered_envelope(num_samples, int(FADE_SECONDS * sample_rate))
    return _peak_normalise(waveform)


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
    scientific_name, common_name = _species_names(design)
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


def _species_names(design: CallDesign) -> tuple[str, str]:
    """Return made-up scientific and common names that describe the call type."""
    number = design.label.removeprefix("dmo")
    common_name = f"Demo {design.pattern} at {design.centre_hz / 1000:.1f} kHz"
    return f"Synthetica demo{number}", common_name


def _synthesize_train_audio(
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


# --- Soundscapes ----------------------------------------------------------------


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
    call = _synthesize_call(design, pitch_factor, rng.uniform(0.9, 1.1), sample_rate)
    call_seconds = len(call) / sample_rate

    window_start = window * WINDOW_SECONDS
    latest_start = min(window_start + WINDOW_SECONDS, limit) - call_seconds
    if latest_start < window_start:
        return []
    first_onset = rng.uniform(window_start, latest_start)
    onsets = _call_onsets(rng, design, len(call), first_onset, limit, sample_rate)
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


def _synthesize_soundscapes(
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

        waveform = _random_noise(rng, num_samples, sample_rate)
        for event in events:
            stop = min(event.start + len(event.waveform), num_samples)
            waveform[event.start : stop] += event.waveform[: stop - event.start]

        soundscapes[f"{soundscape_id}.ogg"] = (_peak_normalise(waveform), sample_rate)
        birds = _label_windows(events, num_windows, window_samples)
        rows += _soundscape_label_rows(soundscape_id, birds)

    return soundscapes, pd.DataFrame(rows, columns=SOUNDSCAPE_LABEL_COLUMNS)


# --- Node -----------------------------------------------------------------------


def _synthesize_background_noise(
    rng: np.random.Generator, params: dict
) -> dict[str, Audio]:
    """Synthesise noise-only files of pink or brown noise, without calls."""
    sample_rate = params["sample_rate"]
    num_samples = int(params["noise_seconds"] * sample_rate)
    noise_files: dict[str, Audio] = {}
    for index in range(1, params["noise_files"] + 1):
        noise = _random_noise(rng, num_samples, sample_rate)
        noise_files[f"demo_noise_{index}.ogg"] = (_peak_normalise(noise), sample_rate)
    return noise_files


def _taxonomy(designs: list[CallDesign]) -> pd.DataFrame:
    rows = []
    for design in designs:
        scientific_name, common_name = _species_names(design)
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
    checked = _validate_params(params)
    designs = _design_species(checked["species"])
    train_rng, soundscape_rng, noise_rng = np.random.default_rng(checked["seed"]).spawn(
        3
    )

    train_metadata, train_audio = _synthesize_train_audio(train_rng, designs, checked)
    soundscapes, soundscape_labels = _synthesize_soundscapes(
        soundscape_rng, designs, checked
    )
    background_noise = _synthesize_background_noise(noise_rng, checked)

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
