"""Streaming decode, the runtime wrappers and the benchmark's measurements."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from bird_pipeline.audio.decode import AudioDecodeError, read_audio
from bird_pipeline.datasets import AudioFile, OpenVINOModelDataset
from bird_pipeline.export import convert_openvino_model, prepare_for_export
from bird_pipeline.inference import (
    compile_openvino,
    decode_soundscape_windows,
    infer_logits,
)
from bird_pipeline.inference.profile import profile_openvino
from bird_pipeline.inference.runtimes import load_runtime
from bird_pipeline.inference.stream import stream_windows
from bird_pipeline.models import build_classifier
from bird_pipeline.pipelines.benchmark.audio import write_tiled_audio
from bird_pipeline.pipelines.benchmark.measure import (
    RuntimeCase,
    StreamingCase,
    measure_runtime,
    measure_streaming,
    run_isolated,
    time_file,
)
from bird_pipeline.pipelines.benchmark.nodes import (
    benchmark_ensemble,
    write_benchmark_report,
)
from bird_pipeline.pipelines.benchmark.projection import project_test_sets
from bird_pipeline.pipelines.benchmark.report import check_targets, summarize_runtimes
from bird_pipeline.training.checkpoint import make_checkpoint

SAMPLE_RATE = 32000


def write_noise(path, rate: int, seconds: float, channels: int = 1):
    rng = np.random.default_rng(rate)
    samples = 0.2 * rng.standard_normal((round(rate * seconds), channels))
    sf.write(path, samples.squeeze(), rate)
    return path


@pytest.mark.parametrize(
    ("name", "rate", "seconds", "channels"),
    [
        ("stereo_48k.flac", 48000, 23.3, 2),
        ("mono_44k.flac", 44100, 10.0, 1),
        ("mono_32k.ogg", 32000, 12.0, 1),
        ("short_22k.wav", 22050, 3.1, 1),
    ],
)
def test_stream_equals_whole_file(tmp_path, name, rate, seconds, channels):
    path = write_noise(tmp_path / name, rate, seconds, channels)
    whole = decode_soundscape_windows(lambda: read_audio(path), SAMPLE_RATE, 5.0)
    for windows_per_block in (1, 3):
        blocks = list(stream_windows(path, SAMPLE_RATE, 5.0, windows_per_block))
        assert max(len(block) for block in blocks) <= windows_per_block
        np.testing.assert_array_equal(np.concatenate(blocks), whole)


def test_stream_empty_file_raises(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(AudioDecodeError, match="zero samples"):
        list(stream_windows(path, SAMPLE_RATE, 5.0, 4))


def test_stream_non_finite_raises(tmp_path):
    path = tmp_path / "nan.wav"
    samples = np.zeros(SAMPLE_RATE * 6, dtype=np.float32)
    samples[SAMPLE_RATE * 5 + 7] = np.nan
    sf.write(path, samples, SAMPLE_RATE, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="NaN or infinite"):
        list(stream_windows(path, SAMPLE_RATE, 5.0, 1))


def test_stream_unreadable_raises(tmp_path):
    path = tmp_path / "broken.ogg"
    path.write_bytes(b"not audio")
    with pytest.raises(AudioDecodeError, match="cannot decode"):
        list(stream_windows(path, SAMPLE_RATE, 5.0, 1))


@pytest.fixture
def small_model(small_preset):
    torch.manual_seed(0)
    return prepare_for_export(build_classifier(small_preset, num_classes=3))


@pytest.fixture
def ir_path(tmp_path, small_model):
    ov_model = convert_openvino_model(small_model, torch.zeros(1, 160000))
    path = tmp_path / "model_fp16.xml"
    OpenVINOModelDataset(str(path)).save(ov_model)
    return path


def test_streamed_probabilities_match_whole_file(tmp_path, ir_path):
    path = write_noise(tmp_path / "scape.flac", 48000, 17.0)
    compiled = compile_openvino(
        OpenVINOModelDataset(str(ir_path)).load(), 1, precision_hint="f32"
    )
    whole = decode_soundscape_windows(lambda: read_audio(path), SAMPLE_RATE, 5.0)
    expected = infer_logits(compiled, whole, batch_size=len(whole))
    streamed = np.concatenate(
        [
            infer_logits(compiled, block, batch_size=2)
            for block in stream_windows(path, SAMPLE_RATE, 5.0, 2)
        ]
    )
    np.testing.assert_allclose(streamed, expected, atol=1e-5)


def test_tiled_audio_repeats_source(tmp_path):
    source = np.linspace(-0.5, 0.5, SAMPLE_RATE * 3, dtype=np.float32)
    path = write_tiled_audio(source, 7.5, tmp_path / "tiled", SAMPLE_RATE, "FLAC")
    assert path.suffix == ".flac"
    samples, rate = sf.read(path, dtype="float32")
    assert rate == SAMPLE_RATE
    assert len(samples) == round(7.5 * SAMPLE_RATE)
    np.testing.assert_allclose(samples[: len(source)], source, atol=1e-4)
    np.testing.assert_allclose(
        samples[len(source) : 2 * len(source)], source, atol=1e-4
    )


def test_runtimes_agree_on_logits(tmp_path, small_model, ir_path):
    checkpoint_path = tmp_path / "checkpoint.pt"
    torch.save(
        make_checkpoint(small_model, ["a", "b", "c"], "finetune"), checkpoint_path
    )
    windows = (0.1 * np.random.default_rng(0).standard_normal((2, 160000))).astype(
        np.float32
    )
    pytorch = load_runtime("pytorch", checkpoint_path, threads=1)(windows)
    openvino = load_runtime("openvino_fp16", ir_path, threads=1)(windows)
    assert pytorch.shape == (2, 3)
    np.testing.assert_allclose(openvino, pytorch, atol=5e-3)
    with pytest.raises(ValueError, match="unknown runtime 'tflite'"):
        load_runtime("tflite", ir_path, threads=1)


@pytest.fixture
def soundscape_files(tmp_path):
    return [
        write_noise(tmp_path / "a.ogg", SAMPLE_RATE, 12.0),
        write_noise(tmp_path / "b.flac", 48000, 5.0),
    ]


def test_time_file_runs_shifted_copies(soundscape_files):
    batches = []

    def run(windows: np.ndarray) -> np.ndarray:
        batches.append(len(windows))
        return np.zeros((len(windows), 2), dtype=np.float32)

    row = time_file(run, soundscape_files[0], 2, SAMPLE_RATE, 5.0, SAMPLE_RATE)
    assert row["windows"] == 3
    assert batches == [6, 3]  # 2 windows, then 1, each read 3 times
    batches.clear()
    time_file(run, soundscape_files[0], 2, SAMPLE_RATE, 5.0)
    assert batches == [2, 1]


def test_measure_runtime_rows(ir_path, soundscape_files, tmp_path):
    latency = write_tiled_audio(
        np.ones(SAMPLE_RATE, dtype=np.float32) * 0.1,
        10.0,
        tmp_path / "latency_10s",
        SAMPLE_RATE,
        "OGG",
    )
    case = RuntimeCase(
        runtime="openvino_fp16",
        artefact=ir_path,
        threads=1,
        batch_sizes=[1, 2],
        soundscapes=soundscape_files,
        latency_files={"10s": latency},
        sample_rate=SAMPLE_RATE,
        window_seconds=5.0,
        warmup_runs=1,
        repeats=1,
    )
    result = measure_runtime(case)
    assert [row["batch_size"] for row in result["batches"]] == [1, 2]
    for batch in result["batches"]:
        assert [row["windows"] for row in batch["files"]] == [3, 1]
        assert batch["audio_seconds"] == 20.0
        assert batch["decode_seconds"] > 0
        assert batch["inference_seconds"] > 0
        assert batch["real_time_factor"] == pytest.approx(batch["total_seconds"] / 20.0)
        assert set(batch["latency_seconds"]) == {"10s"}
    assert result["peak_rss_bytes"] >= result["rss_after_load_bytes"] > 0


def test_streaming_measured_in_fresh_process(ir_path, soundscape_files):
    case = StreamingCase(
        runtime="openvino_fp16",
        ir_path=ir_path,
        audio_path=soundscape_files[0],
        threads=1,
        batch_size=2,
        sample_rate=SAMPLE_RATE,
        window_seconds=5.0,
    )
    result = run_isolated(measure_streaming, case)
    assert result["windows"] == 3
    assert result["output_bytes"] == 3 * 3 * 4  # float32 logits of 3 classes
    assert result["peak_rss_bytes"] >= result["rss_after_load_bytes"] > 0


def test_projection_scales_real_time_factor():
    test_sets = {
        "birdclef_2023": {"audio_minutes": 2000, "budget_minutes": 120, "source": "s"}
    }
    custom = {"audio_minutes": 100, "budget_minutes": 1}
    projections = project_test_sets(0.01, test_sets, custom)
    assert projections["birdclef_2023"]["projected_minutes"] == pytest.approx(20.0)
    assert projections["birdclef_2023"]["within_budget"]
    assert projections["custom"]["projected_minutes"] == pytest.approx(1.0)
    assert projections["custom"]["within_budget"]
    assert not project_test_sets(0.02, test_sets, custom)["custom"]["within_budget"]


def _result(runtime: str, threads: int, inference: float) -> dict:
    batch = {
        "batch_size": 4,
        "files": [],
        "windows": 40,
        "audio_seconds": 200.0,
        "decode_seconds": 1.0,
        "inference_seconds": inference,
        "total_seconds": 1.0 + inference,
        "real_time_factor": (1.0 + inference) / 200.0,
        "latency_seconds": {"10s": 0.1},
    }
    return {
        "runtime": runtime,
        "threads": threads,
        "load_seconds": 0.5,
        "rss_after_load_bytes": 2**20,
        "peak_rss_bytes": 2**21,
        "batches": [batch],
    }


def test_targets_compare_inference_time():
    results = [
        {**_result("pytorch", 0, 8.0), "mel_seconds": 0.5},
        _result("openvino_fp32", 0, 4.0),
        _result("openvino_fp16", 0, 4.0),
        _result("openvino_int8", 0, 3.0),
    ]
    rows = summarize_runtimes(results, cores=2)
    assert {row["threads"] for row in rows} == {2}
    assert all(row["mel_seconds_pytorch"] == 0.5 for row in rows)
    ensemble = {
        "presets": ["a"],
        "projections": {"birdclef_2023": {"projected_minutes": 59.0}},
    }
    targets = {
        "fp16_over_pytorch": 2.0,
        "int8_over_fp32": 1.5,
        "ensemble_test_set": "birdclef_2023",
        "ensemble_minutes": 60,
    }
    judged = check_targets(rows, ensemble, cores=2, targets=targets)
    assert judged["openvino_fp16_over_pytorch"]["inference_speedup"] == 2.0
    assert judged["openvino_fp16_over_pytorch"]["met"]
    assert judged["openvino_int8_over_fp32"]["inference_speedup"] == pytest.approx(
        4 / 3
    )
    assert not judged["openvino_int8_over_fp32"]["met"]
    assert judged["ensemble_projection"]["met"]


def test_ensemble_without_export_raises(soundscape_files):
    params = {"ensemble": {"presets": ["cnn_b0ns"], "precision": "int8"}}
    soundscapes = {path.name: AudioFile(path) for path in soundscape_files}
    with pytest.raises(ValueError, match=r"no int8 IR exported for presets"):
        benchmark_ensemble({}, soundscapes, {}, params)


def test_profile_counts_frontend_time(ir_path):
    windows = np.zeros((2, 160000), dtype=np.float32)
    model = OpenVINOModelDataset(str(ir_path)).load()
    profile = profile_openvino(model, windows, threads=1, precision_hint="f32", runs=1)
    assert profile["total_ms"] > 0
    assert 0 < profile["frontend_ms"] < profile["total_ms"]
    # The exported front end computes its spectrum with a real FFT.
    assert "RDFT" in profile["by_layer_type"]
    assert "STFT" not in profile["by_layer_type"]
    assert sum(profile["by_exec_type"].values()) == pytest.approx(profile["total_ms"])


def test_benchmark_report_and_plot():
    results = [
        {**_result("pytorch", 1, 8.0), "mel_seconds": 0.5},
        _result("openvino_fp16", 1, 2.0),
    ]
    test_sets = {
        "birdclef_2023": {"audio_minutes": 2000, "budget_minutes": 120, "source": "s"}
    }
    projection = {
        "test_sets": test_sets,
        "custom": {"audio_minutes": 10, "budget_minutes": 1},
    }
    ensemble = {
        "presets": ["a", "b"],
        "precision": "fp16",
        "projections": project_test_sets(0.02, test_sets, projection["custom"]),
    }
    params = {
        "precision_hint": "f32",
        "projection": projection,
        "targets": {
            "fp16_over_pytorch": 2.0,
            "int8_over_fp32": 1.5,
            "ensemble_test_set": "birdclef_2023",
            "ensemble_minutes": 60,
        },
    }
    streaming = {"memory_ratio": 1.01}
    report, figure = write_benchmark_report(
        {"cases": results}, streaming, ensemble, "cnn_b0ns", params
    )
    assert [row["runtime"] for row in report["runtimes"]] == [
        "pytorch",
        "openvino_fp16",
    ]
    pytorch_2023 = report["runtimes"][0]["projections"]["birdclef_2023"]
    assert pytorch_2023["projected_minutes"] == pytest.approx(9.0 / 200.0 * 2000)
    assert not report["targets"]["openvino_int8_over_fp32"]["measured"]
    assert report["targets"]["ensemble_projection"]["projected_minutes"] == 40.0
    assert len(figure.axes) == 2
