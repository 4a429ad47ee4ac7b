"""Conversion of a checkpoint to ONNX and OpenVINO IR, with parity checks."""

from bird_pipeline.export.onnx import export_onnx_model
from bird_pipeline.export.openvino import convert_openvino_model
from bird_pipeline.export.parity import ParityError, check_parity

__all__ = ["ParityError", "check_parity", "convert_openvino_model", "export_onnx_model"]
