"""Export of every preset to ONNX and OpenVINO IR, INT8 quantisation, and the gates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from timm.layers import DropPath
from torch import nn

from bird_pipeline.datasets import (
    JSONReportDataset,
    OnnxModelDataset,
    OpenVINOModelDataset,
)
from bird_pipeline.export import (
    ParityError,
    check_metric_drop,
    check_parity,
    convert_openvino_model,
    prepare_for_export,
)
from bird_pipeline.export.onnx import run_onnx
from bird_pipeline.inference import compile_openvino, infer_logits
from bird_pipeline.models import build_classifier, resolve_preset
from bird_pipeline.pipelines.export import create_pipeline
from bird_pipeline.pipelines.export.nodes import (
    convert_openvino,
    export_onnx,
    quantize_openvino,
)
from bird_pipeline.pipelines.export.windows import (
    ValidationWindows,
    select_calibration_windows,
    select_validation_windows,
)
from bird_pipeline.training.checkpoint import make_checkpoint, model_from_checkpoint
from tests.conftest import PROJECT_ROOT
from tests.test_models import PRESET_NAMES

# Labels at the FP32 model's median put every window near a decision boundary
# of a random-weight model, so the gate here allows 0.05 rather than 0.01.
INT8_PARAMS = {
    "calibration_windows": 8,
    "validation_windows": 16,
    "max_seconds": 60.0,
    "max_cmap_drop": 0.05,
    "batch_size": 4,
    "seed": 0,
}
EXPORT_PARAMS = {
    "sample_rate": 32000,
    "window_seconds": 5.0,
    "parity_windows": 3,
    "max_batch": 64,
    "precision_hint": "f32",
    "parity_atol": {"onnxruntime": 1e-4, "openvino_fp32": 1e-4, "openvino_fp16": 5e-3},
    "int8": INT8_PARAMS,
}


@pytest.fixture(scope="module")
def presets() -> dict:
    parameters = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters.yml").read_text())
    return parameters["presets"]


@pytest.fixture
def stochastic_preset(small_preset):
    """The small preset with dropout and drop-path switched on."""
    return dataclasses.replace(small_preset, drop_rate=0.5, drop_path_rate=0.2)


@pytest.fixture
def checkpoint(stochastic_preset):
    torch.manual_seed(0)
    model = build_classifier(stochastic_preset, num_classes=3)
    return make_checkpoint(model, ["a", "b", "c"], stage="finetune")


@pytest.fixture
def labelled_windows(checkpoint):
    """Sixteen varied windows labelled by the FP32 model's own probabilities.

    Each class is positive in the windows where the FP32 model scores it above
    its median, so FP32 ranks the labels perfectly (padded cmAP 1.0) and a model
    that ranks them differently scores lower.
    """
    rng = np.random.default_rng(1)
    seconds = np.arange(160000) / 32000
    windows = np.stack(
        [
            rng.uniform(0.01, 0.5)
            * np.sin(2 * np.pi * rng.uniform(200, 12000) * seconds)
            + rng.uniform(0.001, 0.1) * rng.standard_normal(160000)
            for _ in range(16)
        ]
    ).astype(np.float32)
    model = prepare_for_export(model_from_checkpoint(checkpoint))
    with torch.inference_mode():
        logits = model(torch.from_numpy(windows)).numpy()
    truth = (logits > np.median(logits, axis=0)).astype(np.float32)
    return ValidationWindows(windows, truth, "test windows")


def test_parity_within_tolerance_passes():
    logits = np.array([[0.0, 2.0]], dtype=np.float32)
    report = check_parity("runtime", logits, logits + 1e-6, atol=1e-4)
    assert report["max_abs_prob_diff"] < 1e-6


def test_parity_beyond_tolerance_raises():
    logits = np.array([[0.0, 2.0]], dtype=np.float32)
    with pytest.raises(ParityError, match="above the tolerance 1.0e-04"):
        check_parity("runtime", logits, logits + 0.1, atol=1e-4)


def test_parity_nan_raises():
    logits = np.array([[0.0, 2.0]], dtype=np.float32)
    with pytest.raises(ParityError, match="non-finite"):
        check_parity("runtime", logits, np.full_like(logits, np.nan), atol=1.0)


def test_metric_drop_within_gate_passes():
    report = check_metric_drop("int8", 0.80, 0.795, max_drop=0.01)
    assert report["cmap_drop"] == pytest.approx(0.005)


def test_metric_drop_beyond_gate_raises():
    with pytest.raises(ParityError, match=r"0\.0200 below"):
        check_metric_drop("int8", 0.80, 0.78, max_drop=0.01)


def test_metric_drop_nan_raises():
    with pytest.raises(ParityError, match="not finite"):
        check_metric_drop("int8", 0.80, float("nan"), max_drop=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_exports_with_parity(tmp_path, presets, noise_waveforms, name):
    torch.manual_seed(0)
    model = build_classifier(resolve_preset(name, presets), num_classes=4)
    checkpoint = make_checkpoint(model, ["a", "b", "c", "d"], stage="finetune")

    model_proto, onnx_report = export_onnx(checkpoint, noise_waveforms, EXPORT_PARAMS)
    ov_model, ov_reports = convert_openvino(checkpoint, noise_waveforms, EXPORT_PARAMS)
    assert onnx_report["max_abs_prob_diff"] <= 1e-4
    fp32_report, fp16_report = ov_reports
    assert fp32_report["runtime"] == "openvino_fp32"
    assert fp32_report["max_abs_prob_diff"] <= 1e-4
    assert fp16_report["runtime"] == "openvino_fp16"
    assert fp16_report["max_abs_prob_diff"] <= 5e-3

    OnnxModelDataset(str(tmp_path / "model.onnx")).save(model_proto)
    fp32 = OpenVINOModelDataset(str(tmp_path / "fp32.xml"), compress_to_fp16=False)
    fp16 = OpenVINOModelDataset(str(tmp_path / "fp16.xml"), compress_to_fp16=True)
    fp32.save(ov_model)
    fp16.save(ov_model)
    assert (tmp_path / "model.onnx").stat().st_size > 0
    # FP16 weights take about half the bytes of FP32 weights.
    assert (tmp_path / "fp16.bin").stat().st_size < 0.6 * (
        tmp_path / "fp32.bin"
    ).stat().st_size

    compiled = compile_openvino(fp16.load(), threads=0, precision_hint="f32")
    for batch_size in (1, 3):
        logits = infer_logits(compiled, noise_waveforms, batch_size=batch_size)
        assert logits.shape == (3, 4)


def test_prepare_removes_dropout_and_drop_path(checkpoint):
    model = model_from_checkpoint(checkpoint)
    assert any(isinstance(module, DropPath) for module in model.modules())
    prepared = prepare_for_export(model)
    assert not prepared.training
    stochastic = (nn.Dropout, DropPath)
    assert not any(isinstance(module, stochastic) for module in prepared.modules())


def test_exports_repeat_identical_outputs(checkpoint, noise_waveforms):
    model_proto, _ = export_onnx(checkpoint, noise_waveforms, EXPORT_PARAMS)
    ov_model, _ = convert_openvino(checkpoint, noise_waveforms, EXPORT_PARAMS)
    windows = torch.from_numpy(noise_waveforms)
    np.testing.assert_array_equal(
        run_onnx(model_proto, windows).numpy(), run_onnx(model_proto, windows).numpy()
    )
    compiled = compile_openvino(ov_model, threads=0, precision_hint="f32")
    first = infer_logits(compiled, noise_waveforms, batch_size=3)
    np.testing.assert_array_equal(first, infer_logits(compiled, noise_waveforms, 3))


def test_export_fails_beyond_tolerance(small_preset, noise_waveforms):
    model = build_classifier(small_preset, num_classes=3)
    checkpoint = make_checkpoint(model, ["a", "b", "c"], stage="finetune")
    strict = {
        **EXPORT_PARAMS,
        "parity_atol": {"onnxruntime": 0.0, "openvino_fp32": 0.0, "openvino_fp16": 0.0},
    }
    with pytest.raises(ParityError, match="openvino_fp32"):
        convert_openvino(checkpoint, noise_waveforms, strict)


def test_int8_quantisation_passes_gate(checkpoint, noise_waveforms, labelled_windows):
    ov_model, _ = convert_openvino(checkpoint, noise_waveforms, EXPORT_PARAMS)
    quantized, report = quantize_openvino(
        ov_model, labelled_windows.windows[:8], labelled_windows, EXPORT_PARAMS
    )
    kinds = {op.get_type_name() for op in quantized.get_ops()}
    assert "FakeQuantize" in kinds
    # The front end and the GeM pooling keep floating-point inputs.
    float_scopes = ("__module.frontend/", "__module.head.pool/")
    for op in quantized.get_ops():
        if op.get_friendly_name().startswith(float_scopes):
            sources = {
                value.get_source_output().get_node().get_type_name()
                for value in op.inputs()
            }
            assert "FakeQuantize" not in sources, op.get_friendly_name()
    assert report["reference_cmap"] == pytest.approx(1.0)
    assert report["cmap_drop"] <= INT8_PARAMS["max_cmap_drop"]
    assert report["validation_source"] == "test windows"


def test_int8_gate_rejects_corrupted_model(
    checkpoint, noise_waveforms, labelled_windows, stochastic_preset, monkeypatch
):
    import bird_pipeline.pipelines.export.nodes as export_nodes

    # The "quantised" model has different weights, so it ranks the labels badly.
    torch.manual_seed(123)
    corrupted = prepare_for_export(build_classifier(stochastic_preset, num_classes=3))
    corrupted_ir = convert_openvino_model(corrupted, torch.from_numpy(noise_waveforms))
    monkeypatch.setattr(
        export_nodes, "quantize_int8", lambda model, windows: corrupted_ir
    )
    ov_model, _ = convert_openvino(checkpoint, noise_waveforms, EXPORT_PARAMS)
    with pytest.raises(ParityError, match="openvino_int8 padded cmAP"):
        quantize_openvino(
            ov_model, labelled_windows.windows[:8], labelled_windows, EXPORT_PARAMS
        )


def _recordings_and_cache(count: int) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    rng = np.random.default_rng(0)
    ids = [f"{label}/{index}.ogg" for index in range(count) for label in ("a", "b")]
    recordings = pd.DataFrame(
        {
            "recording_id": ids,
            "primary_label": [name.split("/")[0] for name in ids],
            "secondary_labels": ["c" if name.startswith("a/0") else "" for name in ids],
            "duration_seconds": [12.0] * len(ids),
        }
    )
    cache = {
        name: (0.1 * rng.standard_normal(12 * 32000)).astype(np.float32) for name in ids
    }
    folds = pd.DataFrame(
        {"recording_id": ids, "fold": [index % 2 for index in range(len(ids))]}
    )
    return recordings, cache, folds


def test_calibration_windows_skip_held_out_fold(checkpoint):
    recordings, cache, folds = _recordings_and_cache(4)
    validation = {"fold": 0, "reference": False}
    params = {**EXPORT_PARAMS, "int8": {**INT8_PARAMS, "calibration_windows": 100}}
    windows = select_calibration_windows(
        recordings, cache, folds, checkpoint, params, validation
    )
    # Fold 1 contains the four "b" recordings: 3 windows each, the last padded.
    assert windows.shape == (12, 160000)
    held_out = {name for name, fold in zip(folds.recording_id, folds.fold) if fold == 0}
    first_samples = {cache[name][0] for name in held_out}
    assert not first_samples & {window[0] for window in windows}


def test_validation_windows_held_out_labels(checkpoint):
    recordings, cache, folds = _recordings_and_cache(4)
    validation = {"fold": 0, "reference": False}
    chosen = select_validation_windows(
        recordings, cache, folds, checkpoint, EXPORT_PARAMS, validation
    )
    assert chosen.source == "held-out fold 0"
    assert chosen.windows.shape == (12, 160000)
    # Class order a, b, c: recording a/0 also carries the secondary label c.
    assert chosen.truth[:3].tolist() == [[1.0, 0.0, 1.0]] * 3
    assert chosen.truth[3:, 0].sum() == 9.0


def test_validation_windows_fall_back_without_fold(checkpoint):
    recordings, cache, folds = _recordings_and_cache(2)
    validation = {"fold": 0, "reference": True}
    chosen = select_validation_windows(
        recordings, cache, folds, checkpoint, EXPORT_PARAMS, validation
    )
    assert chosen.source == "training recordings (no held-out fold)"
    assert len(chosen.windows) == 12


def test_failed_gate_writes_no_model(tmp_path, checkpoint):
    # No INT8 model can pass a negative allowed drop, so the last gate fails.
    impossible = {**EXPORT_PARAMS, "int8": {**INT8_PARAMS, "max_cmap_drop": -1.0}}
    recordings, cache, folds = _recordings_and_cache(2)
    outputs = {
        "model_onnx": OnnxModelDataset(str(tmp_path / "model.onnx")),
        "model_ir_fp32": OpenVINOModelDataset(str(tmp_path / "model_fp32.xml")),
        "model_ir_fp16": OpenVINOModelDataset(str(tmp_path / "model_fp16.xml")),
        "model_ir_int8": OpenVINOModelDataset(str(tmp_path / "model_int8.xml")),
        "export_report": JSONReportDataset(str(tmp_path / "export_report.json")),
    }
    inputs = {
        "recordings": recordings,
        "audio_cache": cache,
        "folds": folds,
        "finetune_checkpoint": checkpoint,
        "params:export": impossible,
        "params:validation": {"fold": 0, "reference": False},
    }
    catalog = DataCatalog(
        {
            **outputs,
            **{name: MemoryDataset(value) for name, value in inputs.items()},
            **{
                f"{name}_candidate": MemoryDataset(copy_mode="assign")
                for name in ("onnx", "ir", "int8")
            },
        }
    )
    with pytest.raises(ParityError, match="export.int8.max_cmap_drop"):
        SequentialRunner().run(create_pipeline(), catalog)
    assert list(tmp_path.iterdir()) == []
