"""Nodes of the `predict` pipeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from bird_pipeline.evaluation import check_finite_probs
from bird_pipeline.inference import (
    compile_openvino,
    decode_soundscape_windows,
    infer_logits,
    sigmoid,
)

logger = logging.getLogger(__name__)


def predict_soundscapes(
    model_ir: Any,
    test_soundscapes: dict[str, Callable],
    train_classes: list[str],
    params: dict,
) -> pd.DataFrame:
    """Predict every 5 s window of every soundscape.

    Args:
        model_ir: The exported `openvino.Model`.
        test_soundscapes: Loaders keyed by soundscape file name.
        train_classes: Class codes in the model's output order.
        params: `predict` parameters: `threads`, `precision_hint`, `batch_size`,
            `sample_rate` (Hz) and `window_seconds`.

    Returns:
        The submission: `row_id` = `<soundscape>_<end_second>` and one
        probability column per train class, in train-class order. A partial last
        window is zero-padded and kept.
    """
    compiled = compile_openvino(
        model_ir, int(params["threads"]), str(params["precision_hint"])
    )
    num_outputs = compiled.output(0).get_partial_shape()[1].get_length()
    if num_outputs != len(train_classes):
        raise ValueError(
            f"the model predicts {num_outputs} classes but train_classes lists "
            f"{len(train_classes)}; export the checkpoint trained on these classes"
        )
    window_seconds = float(params["window_seconds"])
    tables = []
    for name, loader in test_soundscapes.items():
        soundscape_id = PurePosixPath(name).stem
        windows = decode_soundscape_windows(
            loader, params["sample_rate"], window_seconds
        )
        probs = sigmoid(infer_logits(compiled, windows, int(params["batch_size"])))
        ends = [round((index + 1) * window_seconds) for index in range(len(windows))]
        row_ids = [f"{soundscape_id}_{end}" for end in ends]
        check_finite_probs(probs, row_ids, train_classes)
        table = pd.DataFrame(probs, columns=train_classes)
        table.insert(0, "row_id", row_ids)
        tables.append(table)
        logger.info("Predicted %d windows of %s", len(windows), soundscape_id)
    if not tables:
        logger.warning("No test soundscapes found; the submission has no rows")
        return pd.DataFrame(columns=["row_id", *train_classes])
    return pd.concat(tables, ignore_index=True)
