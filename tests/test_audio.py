"""Decoding, windowing and the mel front end."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from bird_pipeline.audio import (
    AudioDecodeError,
    MelFrontend,
    count_windows,
    decode_file,
    split_windows,
    to_mono_at_rate,
)

SAMPLE_RATE = 32000


MEL_SETTINGS = dict(
    sample_rate=SAMPLE_RATE,
    n_fft=2048,
    hop_length=627,
    n_mels=128,
    f_min=0.0,
    f_max=16000.0,
)


def make_frontend(**overrides) -> MelFrontend:
    settings = dict(MEL_SETTINGS, top_db=80.0, use_deltas=False)
    settings.update(overrides)
    return MelFrontend(**settings)


def test_stereo_downmix_averages_channels():
    left = np.ones(1000, dtype=np.float32)
    right = -np.ones(1000, dtype=np.float32) * 0.5
    mono = to_mono_at_rate(np.stack([left, right], axis=1), SAMPLE_RATE, SAMPLE_RATE)
    assert mono.shape == (1000,)
    assert np.allclose(mono, 0.25)


@pytest.mark.parametrize("source_rate", [8000, 22050, 44100, 48000, 96000])
def test_resample_keeps_duration(source_rate):
    samples = np.zeros(source_rate * 2, dtype=np.float32)
    waveform = to_mono_at_rate(samples, source_rate, SAMPLE_RATE)
    assert waveform.dtype == np.float32
    assert len(waveform) == 2 * SAMPLE_RATE


def test_resample_keeps_tone_frequency():
    source_rate = 44100
    t = np.arange(source_rate) / source_rate
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    waveform = to_mono_at_rate(tone, source_rate, SAMPLE_RATE)
    spectrum = np.abs(np.fft.rfft(waveform))
    peak_hz = np.argmax(spectrum) * SAMPLE_RATE / len(waveform)
    assert abs(peak_hz - 1000) < 2


def test_invalid_source_rate_raises():
    with pytest.raises(AudioDecodeError, match="invalid sample rate 0"):
        to_mono_at_rate(np.zeros(10, dtype=np.float32), 0, SAMPLE_RATE)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_decode_file_formats(tmp_path, suffix):
    path = tmp_path / f"tone{suffix}"
    samples = 0.3 * np.sin(np.linspace(0, 2000, 48000)).astype(np.float32)
    sf.write(path, np.stack([samples, samples], axis=1), 48000)
    waveform = decode_file(path, SAMPLE_RATE)
    assert waveform.ndim == 1
    assert len(waveform) == SAMPLE_RATE
    assert np.isfinite(waveform).all()


def test_decode_corrupt_file_raises(tmp_path):
    path = tmp_path / "broken.ogg"
    path.write_bytes(b"OggS" + bytes(200))
    with pytest.raises(AudioDecodeError, match="cannot decode"):
        decode_file(path, SAMPLE_RATE)


def test_decode_empty_file_raises(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(AudioDecodeError, match="zero samples") as error:
        decode_file(path, SAMPLE_RATE)
    assert error.value.reason == "empty"


def test_decode_nan_samples_raises(tmp_path):
    path = tmp_path / "nan.wav"
    samples = np.zeros(1000, dtype=np.float32)
    samples[10] = np.nan
    sf.write(path, samples, SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="NaN or infinite") as error:
        decode_file(path, SAMPLE_RATE)
    assert error.value.reason == "non-finite samples"


def test_split_windows_pads_partial_last():
    waveform = np.ones(12, dtype=np.float32)
    windows = split_windows(waveform, 5)
    assert windows.shape == (3, 5)
    assert windows[2].tolist() == [1, 1, 0, 0, 0]
    assert count_windows(10, 5) == 2
    assert count_windows(1, 5) == 1


def test_frontend_shape_and_range(noise_waveforms):
    frontend = make_frontend()
    image = frontend(torch.from_numpy(noise_waveforms))
    assert image.shape == (3, 1, 128, 256)
    assert torch.isfinite(image).all()
    assert image.min() >= 0.0
    assert image.max() == pytest.approx(1.0)


def test_frontend_deltas_add_channels(noise_waveforms):
    frontend = make_frontend(use_deltas=True)
    image = frontend(torch.from_numpy(noise_waveforms))
    assert frontend.in_chans == 3
    assert image.shape == (3, 3, 128, 256)


def test_frontend_deltas_match_torchaudio(noise_waveforms):
    frontend = make_frontend(use_deltas=True)
    image = frontend(torch.from_numpy(noise_waveforms))
    delta = torchaudio.functional.compute_deltas(image[:, 0], win_length=5)
    delta2 = torchaudio.functional.compute_deltas(delta, win_length=5)
    torch.testing.assert_close(image[:, 1], delta)
    torch.testing.assert_close(image[:, 2], delta2)


def test_frontend_silence_stays_finite():
    image = make_frontend()(torch.zeros(2, 5 * SAMPLE_RATE))
    assert torch.isfinite(image).all()


def test_frontend_batch_consistency(noise_waveforms):
    frontend = make_frontend()
    batch = torch.from_numpy(noise_waveforms)
    batched = frontend(batch)
    single = torch.cat([frontend(batch[i : i + 1]) for i in range(len(batch))])
    torch.testing.assert_close(batched, single)


def test_frontend_matches_torchaudio(noise_waveforms):
    frontend = make_frontend()
    waveform = torch.from_numpy(noise_waveforms[:1])
    mel = torchaudio.transforms.MelSpectrogram(**MEL_SETTINGS, power=2.0)(waveform)
    mel_db = torchaudio.transforms.AmplitudeToDB("power", top_db=80.0)(mel)
    expected = (mel_db - mel_db.max() + 80.0) / 80.0
    # float32 log10 of powers summed in a different order: 1e-4 of the [0, 1] range.
    torch.testing.assert_close(frontend(waveform)[:, 0], expected, atol=1e-4, rtol=0)


def test_frontend_rejects_f_max_above_nyquist():
    with pytest.raises(ValueError, match="f_max=20000"):
        make_frontend(f_max=20000.0)


def test_framed_dft_matches_stft(noise_waveforms):
    frontend = make_frontend(use_deltas=True, num_samples=5 * SAMPLE_RATE)
    waveform = torch.from_numpy(noise_waveforms)
    expected = frontend(waveform)
    frontend.use_framed_dft = True
    framed = frontend(waveform)
    # The same powers, summed in another order before the log: 1e-5 of [0, 1].
    torch.testing.assert_close(framed, expected, atol=1e-5, rtol=0)


def test_framed_dft_silence_stays_finite():
    frontend = make_frontend(num_samples=5 * SAMPLE_RATE)
    frontend.use_framed_dft = True
    assert torch.isfinite(frontend(torch.zeros(2, 5 * SAMPLE_RATE))).all()


def test_framed_dft_rejects_other_lengths():
    frontend = make_frontend(num_samples=5 * SAMPLE_RATE)
    frontend.use_framed_dft = True
    with pytest.raises(ValueError, match="num_samples=32000"):
        frontend(torch.zeros(1, SAMPLE_RATE))


def test_framed_dft_needs_num_samples():
    frontend = make_frontend()
    frontend.use_framed_dft = True
    with pytest.raises(ValueError, match="built for None samples"):
        frontend(torch.zeros(1, SAMPLE_RATE))
