"""Export of every preset to ONNX and OpenVINO IR, and the parity gate."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from bird_pipeline.datasets import OnnxModelDataset, OpenVINOModelDataset
from bird_pipeline.export import ParityError, check_parity
from bird_pipeline.inference import compile_openvino, infer_logits
from bird_pipeline.models import build_classifier, resolve_preset
from bird_pipeline.pipelines.export.nodes import convert_openvino, export_onnx
from bird_pipeline.training.checkpoint import make_checkpoint
from tests.conftest import PROJECT_ROOT
from tests.test_models import PRESET_NAMES

EXPORT_PARAMS = {
    "max_batch": 64,
    "precision_hint": "f32",
    "parity_atol": {"onnxruntime": 1e-4, "openvino": 5e-3},
}


@pytest.fixture(scope="module")
def presets() -> dict:
    parameters = yaml.safe_load((PROJECT_ROOT / "conf/base/parameters.yml").read_text())
    return parameters["presets"]


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


@pytest.mark.slow
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_exports_with_parity(tmp_path, presets, noise_waveforms, name):
    torch.manual_seed(0)
    model = build_classifier(resolve_preset(name, presets), num_classes=4)
    checkpoint = make_checkpoint(model, ["a", "b", "c", "d"], stage="finetune")

    model_proto, onnx_report = export_onnx(checkpoint, noise_waveforms, EXPORT_PARAMS)
    ov_model, ov_report = convert_openvino(checkpoint, noise_waveforms, EXPORT_PARAMS)
    assert onnx_report["max_abs_prob_diff"] <= 1e-4
    assert ov_report["max_abs_prob_diff"] <= 5e-3

    OnnxModelDataset(str(tmp_path / "model.onnx")).save(model_proto)
    ir_dataset = OpenVINOModelDataset(str(tmp_path / "model.xml"))
    ir_dataset.save(ov_model)
    assert (tmp_path / "model.onnx").stat().st_size > 0
    assert (tmp_path / "model.bin").stat().st_size > 0

    compiled = compile_openvino(ir_dataset.load(), threads=0, precision_hint="f32")
    for batch_size in (1, 3):
        logits = infer_logits(compiled, noise_waveforms, batch_size=batch_size)
        assert logits.shape == (3, 4)


def test_export_fails_beyond_tolerance(small_preset, noise_waveforms):
    model = build_classifier(small_preset, num_classes=3)
    checkpoint = make_checkpoint(model, ["a", "b", "c"], stage="finetune")
    strict = {**EXPORT_PARAMS, "parity_atol": {"onnxruntime": 0.0, "openvino": 0.0}}
    with pytest.raises(ParityError, match="openvino"):
        convert_openvino(checkpoint, noise_waveforms, strict)
