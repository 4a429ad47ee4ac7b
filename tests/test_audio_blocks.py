"""Block-wise decoding: exact streaming resampling, bad files and bounded memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.signal import resample_poly

from bird_pipeline.audio import AudioDecodeError, MelFrontend, decode_file
from bird_pipeline.audio.blocks import BlockDecoder, PolyphaseResampler
from bird_pipeline.audio.ogg import ends_with_complete_stream
from bird_pipeline.datasets.audio_cache import AudioCache, write_entry

SAMPLE_RATE = 32000


def stream(resampler: PolyphaseResampler, signal: np.ndarray, block: int) -> np.ndarray:
    parts = [
        resampler.push(signal[i : i + block]) for i in range(0, len(signal), block)
    ]
    parts.append(resampler.flush())
    return np.concatenate(parts)


def decode_blocks(path, block_seconds: float = 60.0) -> tuple[np.ndarray, BlockDecoder]:
    decoder = BlockDecoder(path, SAMPLE_RATE, block_seconds)
    blocks = list(decoder.blocks())
    return np.concatenate(blocks), decoder


def tone(seconds: float, rate: int, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize(
    "source_rate", [8000, 11025, 16000, 22050, 24000, 44100, 48000, 88200, 96000]
)
@pytest.mark.parametrize("block", [997, 32768])
def test_resampler_matches_resample_poly(source_rate, block):
    signal = np.random.default_rng(0).standard_normal(source_rate + 123)
    signal = signal.astype(np.float32)
    resampler = PolyphaseResampler(source_rate, SAMPLE_RATE)
    expected = resample_poly(signal, resampler.up, resampler.down).astype(np.float32)
    np.testing.assert_array_equal(stream(resampler, signal, block), expected)


def test_resampler_same_rate_passes_through():
    signal = np.arange(10, dtype=np.float32)
    resampler = PolyphaseResampler(SAMPLE_RATE, SAMPLE_RATE)
    np.testing.assert_array_equal(stream(resampler, signal, 3), signal)


def test_resampler_invalid_rate_raises():
    with pytest.raises(AudioDecodeError, match="invalid sample rate 0 Hz"):
        PolyphaseResampler(0, SAMPLE_RATE)


@pytest.mark.parametrize(
    ("suffix", "source_rate", "channels"),
    [
        (".wav", 8000, 1),
        (".flac", 96000, 2),
        (".ogg", 22050, 2),
        (".mp3", 44100, 1),
        (".wav", 48000, 6),
    ],
)
def test_blocks_match_whole_file_decode(tmp_path, suffix, source_rate, channels):
    path = tmp_path / f"clip{suffix}"
    mono = tone(2.0, source_rate)
    sf.write(
        path,
        np.stack([mono * (c + 1) / channels for c in range(channels)], 1),
        source_rate,
    )
    waveform, decoder = decode_blocks(path, block_seconds=0.3)
    np.testing.assert_allclose(waveform, decode_file(path, SAMPLE_RATE), atol=1e-6)
    assert decoder.summary.channels == channels
    assert decoder.summary.source_rate == source_rate
    assert decoder.summary.samples == len(waveform)


def test_empty_file_of_zero_bytes(tmp_path):
    path = tmp_path / "zero.ogg"
    path.write_bytes(b"")
    with pytest.raises(AudioDecodeError, match="0 bytes") as error:
        decode_blocks(path)
    assert error.value.reason == "empty"


def test_zero_frame_file_is_empty(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(AudioDecodeError, match="zero frames") as error:
        decode_blocks(path)
    assert error.value.reason == "empty"


def test_garbage_file_is_unreadable(tmp_path):
    path = tmp_path / "garbage.ogg"
    path.write_bytes(b"OggS" + bytes(300))
    with pytest.raises(AudioDecodeError, match="cannot decode") as error:
        decode_blocks(path)
    assert error.value.reason == "unreadable"


def test_truncated_flac_fails_mid_read(tmp_path):
    path = tmp_path / "cut.flac"
    sf.write(path, tone(3.0, 48000), 48000)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(AudioDecodeError, match="cannot decode") as error:
        decode_blocks(path, block_seconds=0.5)
    assert error.value.reason == "unreadable"


def noise_ogg(path, seconds: float, rate: int = SAMPLE_RATE) -> bytes:
    """Write white noise as Ogg Vorbis, which takes many pages, and return the bytes."""
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, int(seconds * rate))
    sf.write(path, noise.astype(np.float32), rate)
    return path.read_bytes()


@pytest.mark.parametrize("kept_fraction", [0.33, 0.5, 0.9])
def test_cut_ogg_is_truncated(tmp_path, kept_fraction):
    path = tmp_path / "cut.ogg"
    data = noise_ogg(path, 20.0)
    path.write_bytes(data[: int(len(data) * kept_fraction)])
    with pytest.raises(AudioDecodeError, match="cut short") as error:
        decode_blocks(path)
    assert error.value.reason == "truncated"


def test_ogg_without_last_page_is_truncated(tmp_path):
    """A cut on a page boundary leaves complete pages, but none ends the stream."""
    path = tmp_path / "cut.ogg"
    data = noise_ogg(path, 20.0)
    last_page = data.rfind(b"OggS")
    path.write_bytes(data[:last_page])
    with pytest.raises(AudioDecodeError, match="end-of-stream") as error:
        decode_blocks(path)
    assert error.value.reason == "truncated"


def test_complete_ogg_ends_stream(tmp_path):
    path = tmp_path / "whole.ogg"
    noise_ogg(path, 20.0)
    waveform, decoder = decode_blocks(path)
    assert ends_with_complete_stream(path)
    assert decoder.summary.decoded_frames == 20 * SAMPLE_RATE
    assert len(waveform) == 20 * SAMPLE_RATE


def test_truncated_mp3_reports_fewer_frames(tmp_path):
    path = tmp_path / "cut.mp3"
    sf.write(path, tone(3.0, 48000), 48000)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    _, decoder = decode_blocks(path)
    # The header still announces 3 s; the node compares the two counts.
    assert decoder.summary.header_frames == 3 * 48000
    assert decoder.summary.decoded_frames < 0.6 * decoder.summary.header_frames


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_sample_names_frame(tmp_path, bad_value):
    path = tmp_path / "bad.wav"
    samples = tone(2.0, SAMPLE_RATE)
    samples[40000] = bad_value
    sf.write(path, samples, SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="near frame 32000") as error:
        decode_blocks(path, block_seconds=1.0)
    assert error.value.reason == "non-finite samples"


def test_silent_file_is_rejected(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(SAMPLE_RATE, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(AudioDecodeError, match="all 32000 frames are zero") as error:
        decode_blocks(path)
    assert error.value.reason == "silent"


def test_clipped_fraction_counts_full_scale(tmp_path):
    path = tmp_path / "clipped.wav"
    samples = np.clip(tone(1.0, SAMPLE_RATE, amplitude=2.0), -1.0, 1.0)
    sf.write(path, samples, SAMPLE_RATE, subtype="PCM_16")
    _, decoder = decode_blocks(path)
    expected = np.mean(np.abs(samples) >= 0.999)
    assert decoder.summary.clipped_fraction == pytest.approx(expected, abs=1e-3)
    assert decoder.summary.clipped_fraction > 0.5


def test_long_recording_memory_bounded(tmp_path):
    """Ten minutes at 8 kHz decode into 77 MB of cache with a few MB of memory."""
    path = tmp_path / "long.wav"
    minutes, source_rate = 10, 8000
    with sf.SoundFile(path, "w", source_rate, 1, subtype="PCM_16") as handle:
        for _ in range(minutes):
            handle.write(tone(60.0, source_rate))
    decoder = BlockDecoder(path, SAMPLE_RATE, block_seconds=10.0)

    tracemalloc.start()
    try:
        info = write_entry(tmp_path / "cache", "long", decoder.blocks(), dict)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    output_bytes = minutes * 60 * SAMPLE_RATE * 4
    assert info["samples"] == minutes * 60 * SAMPLE_RATE
    assert peak < output_bytes / 10
    waveform = AudioCache(tmp_path / "cache", ["long"])["long"]
    expected = decode_file(path, SAMPLE_RATE)
    np.testing.assert_allclose(waveform, expected, atol=1e-6)


def test_frontend_finite_on_silence_and_near_silence():
    """Padded crops and quiet recordings must not send NaN or -inf to the model."""
    frontend = MelFrontend(SAMPLE_RATE, 1024, 320, 64, 50.0, 14000.0, use_deltas=True)
    loud = torch.from_numpy(tone(5.0, SAMPLE_RATE))
    half_silent = loud.clone()
    half_silent[SAMPLE_RATE:] = 0.0
    batch = torch.stack(
        [
            torch.zeros(5 * SAMPLE_RATE),
            torch.full((5 * SAMPLE_RATE,), 1e-30),  # below float32 normal range
            torch.full((5 * SAMPLE_RATE,), 0.5),  # DC only
            half_silent,
            loud,
        ]
    )
    image = frontend(batch)
    assert torch.isfinite(image).all()
    assert image[:, 0].min() >= 0.0
    assert image[:, 0].max() <= 1.0
    # Each example is normalised alone: a silent one beside a loud one stays flat.
    assert image[0, 0].max() == image[0, 0].min()
