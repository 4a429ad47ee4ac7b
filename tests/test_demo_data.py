"""Tests of the `demo_data` pipeline, which synthesises a BirdCLEF-format data set."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from bird_pipeline.pipelines.demo_data import create_pipeline
from bird_pipeline.pipelines.demo_data.calls import design_species
from bird_pipeline.pipelines.demo_data.nodes import synthesize_demo_data
from bird_pipeline.pipelines.demo_data.recordings import METADATA_COLUMNS
from bird_pipeline.pipelines.demo_data.soundscapes import CallEvent, _label_windows

DEFAULT_PARAMS = {
    "seed": 42,
    "sample_rate": 32000,
    "species": 6,
    "recordings_per_species": 8,
    "recording_seconds": [6.0, 14.0],
    "soundscapes": 2,
    "soundscape_seconds": 30.0,
    "noise_files": 2,
    "noise_seconds": 20.0,
    "snr_db": 10.0,
    "secondary_fraction": 0.2,
}
# Small enough to synthesise several times per test run. The soundscape length
# is not a multiple of 5 s, so the last window is partial.
SMALL_PARAMS = {
    **DEFAULT_PARAMS,
    "sample_rate": 22050,
    "species": 3,
    "recordings_per_species": 2,
    "recording_seconds": [3.0, 4.0],
    "soundscapes": 2,
    "soundscape_seconds": 12.0,
    "noise_files": 1,
    "noise_seconds": 2.0,
}
OUTPUT_NAMES = [
    "train_metadata",
    "taxonomy",
    "train_audio",
    "test_soundscapes",
    "background_noise",
    "soundscape_labels",
]


@pytest.fixture(scope="module")
def default_output() -> dict:
    return dict(zip(OUTPUT_NAMES, synthesize_demo_data(DEFAULT_PARAMS)))


def _all_audio(output: dict) -> dict:
    return {
        **output["train_audio"],
        **output["test_soundscapes"],
        **output["background_noise"],
    }


def _band_energy(waveform: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(waveform.astype(np.float64))) ** 2
    frequencies = np.fft.rfftfreq(len(waveform), d=1.0 / sample_rate)
    band = (frequencies >= 1000.0) & (frequencies <= 10000.0)
    return float(spectrum[band].sum())


def test_metadata_columns_and_types(default_output):
    metadata = default_output["train_metadata"]

    assert list(metadata.columns) == METADATA_COLUMNS
    assert len(metadata) == 6 * 8
    for column in METADATA_COLUMNS:
        assert metadata[column].map(type).eq(str).all(), column
    assert set(metadata["primary_label"]) == {f"dmo{i:03d}" for i in range(1, 7)}
    assert (metadata["type"] == "[]").all()
    assert (metadata["latitude"] == "").all()
    assert (metadata["author"] == "bird_pipeline demo").all()
    assert (metadata["license"] == "CC0").all()
    assert metadata["rating"].astype(float).between(0.0, 5.0).all()


def test_metadata_filenames_follow_layout(default_output):
    metadata = default_output["train_metadata"]

    for label, filename in zip(metadata["primary_label"], metadata["filename"]):
        folder, name = filename.split("/")
        assert folder == label
        assert name.startswith(f"{label}_")
        assert name.endswith(".ogg")
    assert metadata["filename"].is_unique


def test_secondary_labels_name_other_species(default_output):
    metadata = default_output["train_metadata"]
    with_secondary = metadata[metadata["secondary_labels"] != "[]"]

    assert len(with_secondary) == round(0.2 * 48)
    for primary, cell in zip(
        with_secondary["primary_label"], with_secondary["secondary_labels"]
    ):
        assert cell.startswith("['dmo")
        assert cell.endswith("']")
        assert cell[2:-2] != primary


def test_taxonomy_one_row_per_species(default_output):
    taxonomy = default_output["taxonomy"]

    assert list(taxonomy.columns) == ["primary_label", "scientific_name", "common_name"]
    assert taxonomy["primary_label"].tolist() == [f"dmo{i:03d}" for i in range(1, 7)]
    assert taxonomy["common_name"].is_unique


def test_every_filename_has_audio(default_output):
    filenames = set(default_output["train_metadata"]["filename"])

    assert filenames == set(default_output["train_audio"])


def test_audio_finite_and_within_range(default_output):
    for name, (waveform, sample_rate) in _all_audio(default_output).items():
        assert sample_rate == 32000, name
        assert waveform.ndim == 1, name
        assert waveform.dtype == np.float32, name
        assert np.isfinite(waveform).all(), name
        assert np.abs(waveform).max() <= 1.0, name
        assert np.abs(waveform).max() == pytest.approx(0.5, abs=1e-3), name


def test_audio_durations_match_params(default_output):
    for name, (waveform, sample_rate) in default_output["train_audio"].items():
        assert 6.0 <= len(waveform) / sample_rate <= 14.0, name
    for name, (waveform, sample_rate) in default_output["test_soundscapes"].items():
        assert len(waveform) == 30 * sample_rate, name
    for name, (waveform, sample_rate) in default_output["background_noise"].items():
        assert len(waveform) == 20 * sample_rate, name


def test_audio_file_names(default_output):
    assert sorted(default_output["test_soundscapes"]) == [
        "demo_soundscape_1.ogg",
        "demo_soundscape_2.ogg",
    ]
    assert sorted(default_output["background_noise"]) == [
        "demo_noise_1.ogg",
        "demo_noise_2.ogg",
    ]


@pytest.mark.parametrize("params", [DEFAULT_PARAMS, SMALL_PARAMS], ids=["30s", "12s"])
def test_soundscape_labels_one_row_per_window(params, default_output):
    output = (
        default_output
        if params is DEFAULT_PARAMS
        else dict(zip(OUTPUT_NAMES, synthesize_demo_data(params)))
    )
    labels = output["soundscape_labels"]
    num_windows = math.ceil(params["soundscape_seconds"] / 5)

    assert list(labels.columns) == [
        "row_id",
        "soundscape_id",
        "start_second",
        "end_second",
        "birds",
    ]
    for filename in output["test_soundscapes"]:
        soundscape_id = filename.removesuffix(".ogg")
        rows = labels[labels["soundscape_id"] == soundscape_id]
        ends = [5 * (window + 1) for window in range(num_windows)]
        assert rows["end_second"].tolist() == ends
        assert rows["start_second"].tolist() == [end - 5 for end in ends]
        assert rows["row_id"].tolist() == [f"{soundscape_id}_{end}" for end in ends]
    assert len(labels) == num_windows * params["soundscapes"]


def test_soundscape_labels_use_known_codes(default_output):
    labels = default_output["soundscape_labels"]
    known = set(default_output["taxonomy"]["primary_label"])

    for soundscape_id, rows in labels.groupby("soundscape_id"):
        assert (rows["birds"] == "nocall").any(), soundscape_id
        assert (rows["birds"] != "nocall").any(), soundscape_id
    for birds in labels["birds"]:
        if birds != "nocall":
            assert set(birds.split(" ")) <= known, birds


@pytest.mark.parametrize("seed", range(8))
def test_partial_window_soundscape_labels(seed):
    # 5.1 s gives one full window and one 0.1 s window, shorter than any call.
    params = {
        **SMALL_PARAMS,
        "seed": seed,
        "species": 2,
        "recordings_per_species": 1,
        "soundscapes": 3,
        "soundscape_seconds": 5.1,
        "noise_files": 0,
    }

    labels = synthesize_demo_data(params)[5]

    for soundscape_id, rows in labels.groupby("soundscape_id"):
        assert len(rows) == 2, soundscape_id
        assert (rows["birds"] == "nocall").sum() == 1, soundscape_id


def test_windows_with_calls_carry_more_band_energy(default_output):
    labels = default_output["soundscape_labels"]

    for filename, (waveform, sample_rate) in default_output["test_soundscapes"].items():
        rows = labels[labels["soundscape_id"] == filename.removesuffix(".ogg")]
        windows = waveform.reshape(len(rows), 5 * sample_rate)
        energy = np.array([_band_energy(window, sample_rate) for window in windows])
        is_nocall = (rows["birds"] == "nocall").to_numpy()
        assert energy[~is_nocall].mean() > energy[is_nocall].mean(), filename


def test_label_windows_call_across_boundary():
    window_samples = 100
    call = np.hanning(40).astype(np.float32)
    events = [
        CallEvent("dmo002", 180, call),
        CallEvent("dmo001", 10, call),
    ]

    birds = _label_windows(events, num_windows=4, window_samples=window_samples)

    assert birds == ["dmo001", "dmo002", "dmo002", "nocall"]


def test_label_windows_ignores_silent_tail():
    # np.hanning ends in an exact 0, so the single sample in window 1 has no energy.
    call = np.hanning(40).astype(np.float32)

    birds = _label_windows([CallEvent("dmo003", 61, call)], 2, window_samples=100)

    assert birds == ["dmo003", "nocall"]


def test_label_windows_sorts_species():
    call = np.ones(10, dtype=np.float32)
    events = [CallEvent("dmo005", 0, call), CallEvent("dmo001", 20, call)]

    assert _label_windows(events, 1, window_samples=100) == ["dmo001 dmo005"]


def test_same_seed_same_output():
    first = dict(zip(OUTPUT_NAMES, synthesize_demo_data(SMALL_PARAMS)))
    second = dict(zip(OUTPUT_NAMES, synthesize_demo_data(SMALL_PARAMS)))

    for name in ["train_metadata", "taxonomy", "soundscape_labels"]:
        pd.testing.assert_frame_equal(first[name], second[name])
    for name in ["train_audio", "test_soundscapes", "background_noise"]:
        assert list(first[name]) == list(second[name])
        for key, (waveform, sample_rate) in first[name].items():
            assert sample_rate == second[name][key][1]
            np.testing.assert_array_equal(waveform, second[name][key][0])


def test_other_seed_other_audio():
    first = dict(zip(OUTPUT_NAMES, synthesize_demo_data(SMALL_PARAMS)))
    second = dict(zip(OUTPUT_NAMES, synthesize_demo_data({**SMALL_PARAMS, "seed": 7})))

    for name in ["train_audio", "test_soundscapes", "background_noise"]:
        for key, (waveform, _) in first[name].items():
            other = second[name][key][0]
            assert len(waveform) != len(other) or not np.array_equal(waveform, other)


def test_species_dominant_frequencies_differ(default_output):
    metadata = default_output["train_metadata"]
    designs = {design.label: design for design in design_species(6)}
    dominant_hz = {}

    for label, filenames in metadata.groupby("primary_label")["filename"]:
        log_spectra = []
        for filename in filenames:
            waveform, sample_rate = default_output["train_audio"][filename]
            frames = waveform[: len(waveform) // 2048 * 2048].reshape(-1, 2048)
            power = np.abs(np.fft.rfft(frames * np.hanning(2048), axis=1)) ** 2
            log_spectra.append(np.log(power.mean(axis=0) + 1e-12))
        frequencies = np.fft.rfftfreq(2048, d=1.0 / sample_rate)
        band = frequencies >= 800.0
        mean_log_spectrum = np.mean(log_spectra, axis=0)
        dominant_hz[label] = frequencies[band][np.argmax(mean_log_spectrum[band])]

    assert len(set(dominant_hz.values())) == 6, dominant_hz
    for label, frequency in dominant_hz.items():
        centre = designs[label].centre_hz
        assert 0.75 * centre <= frequency <= 1.3 * centre, (label, frequency, centre)


def test_ogg_round_trip(default_output, tmp_path):
    waveform, sample_rate = default_output["train_audio"]["dmo001/dmo001_1.ogg"]
    path = tmp_path / "dmo001_1.ogg"

    sf.write(str(path), waveform, sample_rate, format="OGG")
    decoded, decoded_rate = sf.read(str(path), dtype="float32")

    assert decoded_rate == sample_rate
    assert abs(len(decoded) - len(waveform)) <= sample_rate // 100


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("species", 0, r"species=0: it must be between 1 and 20"),
        ("species", 21, r"species=21: it must be between 1 and 20"),
        ("species", 2.5, r"species must be an integer, got 2\.5"),
        ("seed", -1, r"seed=-1"),
        ("sample_rate", 16000, r"sample_rate=16000: it must be between 22050"),
        ("recordings_per_species", 0, r"recordings_per_species=0"),
        ("recording_seconds", [10.0, 5.0], r"recording_seconds=\[10\.0, 5\.0\]"),
        ("recording_seconds", [1.0, 5.0], r"3\.0 <= min <= max <= 120\.0"),
        ("recording_seconds", 7.0, r"must be \[min, max\] in seconds, got 7\.0"),
        ("soundscape_seconds", 2.0, r"soundscape_seconds=2\.0"),
        ("noise_seconds", "long", r"noise_seconds must be a number, got 'long'"),
        ("snr_db", 99.0, r"snr_db=99\.0"),
        ("secondary_fraction", 1.5, r"secondary_fraction=1\.5"),
    ],
)
def test_bad_params_raise(key, value, message):
    with pytest.raises(ValueError, match=message):
        synthesize_demo_data({**SMALL_PARAMS, key: value})


def test_missing_param_raises():
    params = {key: value for key, value in SMALL_PARAMS.items() if key != "snr_db"}

    with pytest.raises(ValueError, match="'snr_db' is missing"):
        synthesize_demo_data(params)


def test_secondary_needs_two_species():
    params = {**SMALL_PARAMS, "species": 1, "secondary_fraction": 0.5}

    with pytest.raises(ValueError, match="secondary_fraction to 0"):
        synthesize_demo_data(params)


def test_single_species_without_secondary():
    params = {**SMALL_PARAMS, "species": 1, "secondary_fraction": 0.0}

    metadata, taxonomy, *_ = synthesize_demo_data(params)

    assert taxonomy["primary_label"].tolist() == ["dmo001"]
    assert (metadata["secondary_labels"] == "[]").all()


def test_no_soundscapes_gives_empty_labels():
    params = {**SMALL_PARAMS, "soundscapes": 0, "noise_files": 0}

    output = dict(zip(OUTPUT_NAMES, synthesize_demo_data(params)))

    assert output["test_soundscapes"] == {}
    assert output["background_noise"] == {}
    assert len(output["soundscape_labels"]) == 0
    assert "row_id" in output["soundscape_labels"].columns


def test_pipeline_has_one_node():
    pipeline = create_pipeline()

    assert [node.name for node in pipeline.nodes] == ["synthesize_demo_data_node"]
    assert pipeline.nodes[0].inputs == ["params:demo_data"]
    assert pipeline.nodes[0].outputs == OUTPUT_NAMES
