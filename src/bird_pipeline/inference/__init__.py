"""CPU inference: soundscape windows, the OpenVINO runtime and probabilities."""

from bird_pipeline.inference.runtime import compile_openvino, infer_logits, sigmoid
from bird_pipeline.inference.soundscape import decode_soundscape_windows

__all__ = ["compile_openvino", "decode_soundscape_windows", "infer_logits", "sigmoid"]
