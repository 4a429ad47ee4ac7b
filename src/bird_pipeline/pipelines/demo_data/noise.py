"""Pink and brown background noise, mixed under calls and written as noise files."""

import numpy as np
import scipy.fft

from bird_pipeline.pipelines.demo_data.audio import Audio, peak_normalise

NOISE_EXPONENTS = {"pink": 1.0, "brown": 2.0}
# Below this frequency the noise spectrum is flat, so brown noise is not all rumble.
NOISE_CORNER_HZ = 50.0


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


def random_noise(
    rng: np.random.Generator, num_samples: int, sample_rate: int
) -> np.ndarray:
    """Draw pink or brown noise with equal probability, at unit RMS."""
    exponent = float(rng.choice(list(NOISE_EXPONENTS.values())))
    return _colored_noise(rng, num_samples, sample_rate, exponent)


def synthesize_background_noise(
    rng: np.random.Generator, params: dict
) -> dict[str, Audio]:
    """Synthesise noise-only files of pink or brown noise, without calls."""
    sample_rate = params["sample_rate"]
    num_samples = int(params["noise_seconds"] * sample_rate)
    noise_files: dict[str, Audio] = {}
    for index in range(1, params["noise_files"] + 1):
        noise = random_noise(rng, num_samples, sample_rate)
        noise_files[f"demo_noise_{index}.ogg"] = (peak_normalise(noise), sample_rate)
    return noise_files
