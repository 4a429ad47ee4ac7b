"""Conversion of a checkpoint to ONNX and OpenVINO IR (FP32, FP16, INT8), with gates."""

from bird_pipeline.export.onnx import export_onnx_model
from bird_pipeline.export.openvino import convert_openvino_model
from bird_pipeline.export.parity import ParityError, check_metric_drop, check_parity
from bird_pipeline.export.prepare import prepare_for_export
from bird_pipeline.export.quantize import quantize_int8

__all__ = [
    "ParityError",
    "check_metric_drop",
    "check_parity",
    "convert_openvino_model",
    "export_onnx_model",
    "prepare_for_export",
    "quantize_int8",
]
