"""Nodes of the `predict` pipeline."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from bird_pipeline.audio.decode import AudioDecodeError
from bird_pipeline.datasets import AudioFile, IRLoader
from bird_pipeline.evaluation import check_finite_probs
from bird_pipeline.inference import compile_openvino, infer_logits
from bird_pipeline.inference.shift import shift_averaged_probs, with_context
from bird_pipeline.inference.stream import stream_windows
from bird_pipeline.models.presets import resolve_preset

logger = logging.getLogger(__name__)


def confirm_export(
    export_report: dict[str, Any],
    exported_models: dict[str, dict[str, IRLoader]],
    model: str,
) -> dict[str, dict[str, IRLoader]]:
    """Pass the exported IRs on once the `model` preset's export report exists.

    The export writes its report only after every parity and INT8 gate passed,
    so this also ties `submission` to `finetune_checkpoint` in the lineage.

    Raises:
        ValueError: The report belongs to another preset.
    """
    if export_report.get("preset") != model:
        raise ValueError(
            f"export_report is for preset {export_report.get('preset')!r}, not "
            f"{model!r}; run `kedro run --pipelines export --params model={model}`"
        )
    return exported_models


def select_ensemble(
    exported_models: dict[str, dict[str, IRLoader]],
    presets: list[str],
    precision: str,
) -> dict[str, IRLoader]:
    """Pick each preset's IR of one precision.

    Raises:
        ValueError: The list is empty, or a preset has no exported IR of that
            precision.
    """
    if not presets:
        raise ValueError("the ensemble lists no presets; name at least one preset")
    missing = [
        name for name in presets if precision not in exported_models.get(name, {})
    ]
    if missing:
        raise ValueError(
            f"no {precision} IR exported for presets {missing} (found: "
            f"{ {name: sorted(irs) for name, irs in exported_models.items()} }); run "
            f"`kedro run --pipelines export --params model=<preset>` for each"
        )
    return {name: exported_models[name][precision] for name in presets}


def parse_presets(value: list[str] | str | None, model: str) -> list[str]:
    """Return the ensemble's presets from a list or a space-separated string.

    `kedro run --params` splits its argument on commas, so on the command line
    a list is written as `predict.presets="cnn_b0ns sed_v2s"`. An empty value
    means the `model` preset alone, or no preset when `model` is empty.
    """
    if isinstance(value, str):
        value = value.split()
    presets = [name for name in value or [] if name]
    return presets or ([model] if model else [])


def _predict_blocks(
    compiled_models: list[Any],
    shifts: list[int],
    blocks: Iterator[tuple[np.ndarray, np.ndarray]],
    batch_size: int,
) -> Iterator[np.ndarray]:
    """Yield the ensemble's mean probabilities for each block from `with_context`."""
    context = max(shifts)
    for windows, extended in blocks:
        member_probs = [
            shift_averaged_probs(
                lambda batch, compiled=compiled: infer_logits(
                    compiled, batch, batch_size
                ),
                windows,
                extended,
                context,
                shift,
            )
            for compiled, shift in zip(compiled_models, shifts, strict=True)
        ]
        yield np.mean(member_probs, axis=0, dtype=np.float32)


def member_shift_samples(
    name: str, presets_table: dict[str, dict[str, Any]], sample_rate: int
) -> int:
    """Return a preset's test-time shift in samples at `sample_rate`.

    Raises:
        ValueError: The preset was trained at another sample rate.
    """
    preset = resolve_preset(name, presets_table)
    if preset.sample_rate != sample_rate:
        raise ValueError(
            f"preset {name} takes {preset.sample_rate} Hz audio but "
            f"predict.sample_rate is {sample_rate}; set predict.sample_rate="
            f"{preset.sample_rate} or ensemble presets of one rate"
        )
    return preset.shift_samples


def _compile_ensemble(
    loaders: dict[str, IRLoader], num_classes: int, params: dict
) -> list[Any]:
    compiled_models = []
    for name, loader in loaders.items():
        compiled = compile_openvino(
            loader(), int(params["threads"]), str(params["precision_hint"])
        )
        num_outputs = compiled.output(0).get_partial_shape()[1].get_length()
        if num_outputs != num_classes:
            raise ValueError(
                f"preset {name} predicts {num_outputs} classes but train_classes "
                f"lists {num_classes}; export the checkpoint trained on these classes"
            )
        compiled_models.append(compiled)
    return compiled_models


def predict_soundscapes(
    exported_models: dict[str, dict[str, IRLoader]],
    test_soundscapes: dict[str, AudioFile],
    train_classes: list[str],
    model: str,
    presets_table: dict[str, dict[str, Any]],
    params: dict,
) -> pd.DataFrame:
    """Predict every 5 s window of every soundscape with one preset or an ensemble.

    Each soundscape is streamed in blocks of `batch_size` windows, so a long
    file never sits in memory whole. A preset with `shift_seconds` (the SED
    presets) averages each window with its copies read that much earlier and
    later. An ensemble averages the sigmoid probabilities of its presets.

    Args:
        exported_models: `{preset: {precision: IRLoader}}`.
        test_soundscapes: Audio files keyed by soundscape file name.
        train_classes: Class codes in the models' output order.
        model: The `model` preset, used when `params["presets"]` is empty.
        presets_table: The `presets` parameter, for each member's shift.
        params: `predict` parameters: `presets` (the ensemble, see
            `parse_presets`), `precision`
            (`fp32`, `fp16` or `int8`), `threads`, `precision_hint`,
            `batch_size`, `sample_rate` (Hz) and `window_seconds`.

    Returns:
        The submission: `row_id` = `<soundscape>_<end_second>` and one
        probability column per train class, in train-class order. A partial last
        window is zero-padded and kept.
    """
    presets = parse_presets(params.get("presets"), model)
    loaders = select_ensemble(exported_models, presets, str(params["precision"]))
    compiled_models = _compile_ensemble(loaders, len(train_classes), params)
    sample_rate = int(params["sample_rate"])
    shifts = [
        member_shift_samples(name, presets_table, sample_rate) for name in presets
    ]
    context = max(shifts)
    logger.info(
        "Predicting with %s (%s IR), test-time shifts %s samples",
        presets,
        params["precision"],
        shifts,
    )
    window_seconds = float(params["window_seconds"])
    batch_size = int(params["batch_size"])
    tables = []
    for name, audio_file in test_soundscapes.items():
        soundscape_id = PurePosixPath(name).stem
        stream = stream_windows(
            audio_file.path, sample_rate, window_seconds, batch_size
        )
        try:
            blocks = list(
                _predict_blocks(
                    compiled_models, shifts, with_context(stream, context), batch_size
                )
            )
        except AudioDecodeError as exc:
            cause = str(exc).rstrip(".")
            raise AudioDecodeError(
                f"{cause}. Every soundscape needs rows in the submission, so remove "
                f"or replace {name} in test_soundscapes/",
                reason=exc.reason,
            ) from exc
        probs = np.concatenate(blocks)
        ends = [round((index + 1) * window_seconds) for index in range(len(probs))]
        row_ids = [f"{soundscape_id}_{end}" for end in ends]
        check_finite_probs(probs, row_ids, train_classes)
        table = pd.DataFrame(probs, columns=train_classes)
        table.insert(0, "row_id", row_ids)
        tables.append(table)
        logger.info("Predicted %d windows of %s", len(probs), soundscape_id)
    if not tables:
        logger.warning("No test soundscapes found; the submission has no rows")
        return pd.DataFrame(columns=["row_id", *train_classes])
    return pd.concat(tables, ignore_index=True)
