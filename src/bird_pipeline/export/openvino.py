"""Convert a classifier to an OpenVINO model with the current Python API.

NOTE: OpenVINO 2026.4's ONNX reader rejects the `STFT` node when the batch axis
is dynamic (it needs a static signal shape), and converting the ONNX file at a
static batch bakes that batch into later reshapes. The IR is therefore
converted from the same eval-mode PyTorch module with `openvino.convert_model`,
which keeps the batch axis dynamic. The parity check compares it with PyTorch.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from bird_pipeline.models.classifier import BirdClassifier

logger = logging.getLogger(__name__)


def convert_openvino_model(model: BirdClassifier, example_windows: torch.Tensor) -> Any:
    """Convert an eval-mode classifier to an `openvino.Model` with a dynamic batch.

    Args:
        model: The classifier; it is switched to eval mode.
        example_windows: `(batch, segment_samples)` used to trace the graph.

    Returns:
        The `openvino.Model`, input `waveform` `(?, segment_samples)`, output
        `logits` `(?, classes)`.
    """
    import openvino as ov

    model.eval()
    with torch.inference_mode():
        model(example_windows)
    ov_model = ov.convert_model(
        model, example_input=example_windows, input=[(-1, example_windows.shape[1])]
    )
    ov_model.inputs[0].get_tensor().set_names({"waveform"})
    ov_model.outputs[0].get_tensor().set_names({"logits"})
    logger.info("Converted to OpenVINO: input %s", ov_model.inputs[0].partial_shape)
    return ov_model
