"""Synthetic species call types and the synthesis of their calls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Lowest and highest call centre frequency in Hz. Sweeps and the two-tone
# pattern reach 1.25 times the centre, and pitch jitter adds 3 %, so the highest
# main component is about 9.7 kHz and needs a sample rate of at least 22050 Hz.
# Harmonic stacks add overtones up to 0.45 times the sample rate.
LOWEST_CENTRE_HZ = 1200.0
HIGHEST_CENTRE_HZ = 7500.0
MIN_SAMPLE_RATE = 22050
PITCH_JITTER = 0.03

# Pattern name, base call length (s) and base gap between calls (s).
_PATTERNS = (
    ("whistle", 0.45, 0.55),
    ("up-sweep", 0.18, 0.35),
    ("down-sweep", 0.30, 0.80),
    ("trill", 0.90, 0.60),
    ("two-tone", 0.60, 0.40),
    ("harmonic stack", 0.25, 1.00),
)


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


def design_species(species: int) -> list[CallDesign]:
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


def species_names(design: CallDesign) -> tuple[str, str]:
    """Return made-up scientific and common names that describe the call type."""
    number = design.label.removeprefix("dmo")
    common_name = f"Demo {design.pattern} at {design.centre_hz / 1000:.1f} kHz"
    return f"Synthetica demo{number}", common_name


def tapered_envelope(num_samples: int, ramp_samples: int) -> np.ndarray:
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


def synthesize_call(
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

    call *= tapered_envelope(num_samples, int(0.01 * sample_rate))
    return call / max(float(np.sqrt(np.mean(call**2))), 1e-12)


def call_onsets(
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
