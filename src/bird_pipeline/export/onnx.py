"""Export a classifier to ONNX with `torch.onnx.export(dynamo=True)`.

The legacy TorchScript exporter fails on the complex STFT inside the mel front
end (torch 2.11). The dynamo exporter writes it as an ONNX `STFT` node.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from bird_pipeline.models.classifier import BirdClassifier

logger = logging.getLogger(__name__)

INPUT_NAME = "waveform"
OUTPUT_NAME = "logits"


def export_onnx_model(
    model: BirdClassifier, example_windows: torch.Tensor, max_batch: int
) -> Any:
    """Export an eval-mode model with a dynamic batch axis and check the graph.

    Args:
        model: The classifier; it is switched to eval mode.
        example_windows: `(batch, segment_samples)` used to trace the graph.
        max_batch: Largest batch the exported graph accepts.

    Returns:
        The checked `onnx.ModelProto`.
    """
    import onnx

    model.eval()
    batch = torch.export.Dim("batch", min=1, max=max_batch)
    with torch.inference_mode():
        model(example_windows)  # fails fast, before tracing
    program = torch.onnx.export(
        model,
        (example_windows,),
        dynamo=True,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_shapes={"waveform": {0: batch}},
        verbose=False,
    )
    model_proto = program.model_proto
    onnx.checker.check_model(model_proto)
    logger.info("Exported ONNX graph with %d nodes", len(model_proto.graph.node))
    return model_proto


def run_onnx(model_proto: Any, windows: torch.Tensor, threads: int = 0) -> torch.Tensor:
    """Run an ONNX model with ONNX Runtime on the CPU and return its logits."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(
        model_proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    (logits,) = session.run([OUTPUT_NAME], {INPUT_NAME: windows.numpy()})
    return torch.from_numpy(logits)
