"""INT8 post-training quantisation of an OpenVINO model with NNCF."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

# The mel front end (power spectrum, filter bank, dB scale) stays in floating
# point: its inputs span many orders of magnitude, which 8-bit steps cannot hold.
FRONTEND_PATTERN = r"__module\.frontend/.*"
# GeM pooling raises activations to the power p and the mean back to 1/p, which
# stretches and then compresses the 8-bit steps, so the head's pooling stays in
# floating point too.
POOLING_PATTERN = r"__module\.head\.pool/.*"


def quantize_int8(model: Any, calibration_windows: np.ndarray) -> Any:
    """Quantise weights and activations of the encoder and head to INT8.

    Args:
        model: The FP32 `openvino.Model`, input `waveform` `(?, samples)`.
        calibration_windows: `(windows, samples)` float32 training windows; every
            window is one calibration sample.

    Returns:
        A new `openvino.Model` with FakeQuantize nodes, which the CPU plugin runs
        with INT8 kernels.

    Raises:
        ValueError: No calibration windows were given.
    """
    import nncf

    if len(calibration_windows) == 0:
        raise ValueError(
            "no calibration windows for INT8 quantisation; check that the "
            "recordings table lists training recordings"
        )
    dataset = nncf.Dataset(
        list(np.asarray(calibration_windows, dtype=np.float32)),
        lambda window: window[np.newaxis],  # one window per batch of 1
    )
    quantized = nncf.quantize(
        model,
        dataset,
        subset_size=len(calibration_windows),
        ignored_scope=nncf.IgnoredScope(
            patterns=[FRONTEND_PATTERN, POOLING_PATTERN], validate=False
        ),
    )
    fake_quantize = sum(
        op.get_type_name() == "FakeQuantize" for op in quantized.get_ops()
    )
    logger.info(
        "Quantised to INT8 on %d calibration windows: %d FakeQuantize nodes",
        len(calibration_windows),
        fake_quantize,
    )
    return quantized
