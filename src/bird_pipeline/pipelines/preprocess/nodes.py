"""Nodes of the `preprocess` pipeline."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import PurePosixPath

import numpy as np
import pandas as pd

from bird_pipeline.audio.decode import AudioDecodeError, check_samples, to_mono_at_rate
from bird_pipeline.evaluation.folds import assign_folds, fold_sizes
from bird_pipeline.metadata import (
    pretrain_classes_from,
    train_classes_from,
    validate_metadata,
)

logger = logging.getLogger(__name__)

BAD_RECORDING_COLUMNS = ["recording_id", "reason", "detail", "stage"]


def validate_metadata_node(train_metadata: pd.DataFrame) -> pd.DataFrame:
    """Validate `train_metadata.csv` and normalise it into the recordings table."""
    recordings = validate_metadata(train_metadata)
    logger.info("Metadata lists %d recordings", len(recordings))
    return recordings


def _decode_one(
    loader: Callable[[], tuple[np.ndarray, int]], sample_rate: int
) -> np.ndarray:
    samples, source_rate = loader()
    check_samples(samples, "the recording")
    return to_mono_at_rate(samples, source_rate, sample_rate)


def decode_recordings(
    recordings: pd.DataFrame,
    train_audio: dict[str, Callable[[], tuple[np.ndarray, int]]],
    params: dict,
) -> tuple[dict[str, np.ndarray], pd.DataFrame, pd.DataFrame]:
    """Decode every listed recording to mono at the pipeline sample rate.

    Args:
        recordings: Output of `validate_metadata_node`.
        train_audio: Loaders keyed by path under `train_audio/`.
        params: `preprocess` parameters: `sample_rate` (Hz) and `max_skipped`
            (how many unusable recordings are tolerated).

    Returns:
        The waveforms keyed by recording id, the recordings that decoded (with
        `duration_seconds`), and one report row per skipped recording.

    Raises:
        RuntimeError: More than `max_skipped` recordings were skipped.
    """
    sample_rate = int(params["sample_rate"])
    waveforms: dict[str, np.ndarray] = {}
    durations: dict[str, float] = {}
    bad_rows: list[dict[str, str]] = []

    for recording_id in recordings["recording_id"]:
        loader = train_audio.get(recording_id)
        if loader is None:
            bad_rows.append(
                {
                    "recording_id": recording_id,
                    "reason": "file not found",
                    "detail": f"train_audio/{recording_id} does not exist",
                    "stage": "metadata",
                }
            )
            continue
        try:
            waveform = _decode_one(loader, sample_rate)
        except AudioDecodeError as exc:
            bad_rows.append(
                {
                    "recording_id": recording_id,
                    "reason": exc.reason,
                    "detail": str(exc),
                    "stage": "decode",
                }
            )
            continue
        waveforms[recording_id] = waveform
        durations[recording_id] = len(waveform) / sample_rate

    bad_recordings = pd.DataFrame(bad_rows, columns=BAD_RECORDING_COLUMNS)
    if len(bad_recordings):
        logger.warning(
            "Skipped %d of %d recordings: %s",
            len(bad_recordings),
            len(recordings),
            bad_recordings["reason"].value_counts().to_dict(),
        )
    max_skipped = int(params["max_skipped"])
    if len(bad_recordings) > max_skipped:
        raise RuntimeError(
            f"{len(bad_recordings)} recordings could not be used, more than "
            f"max_skipped={max_skipped}: "
            f"{bad_recordings['recording_id'].tolist()[:20]}. "
            f"Fix or remove these files, or raise preprocess.max_skipped"
        )

    usable = recordings[recordings["recording_id"].isin(waveforms)].copy()
    usable["duration_seconds"] = usable["recording_id"].map(durations)
    logger.info(
        "Decoded %d recordings, %.1f s of audio",
        len(usable),
        usable["duration_seconds"].sum(),
    )
    return waveforms, usable.reset_index(drop=True), bad_recordings


def build_class_lists(
    recordings: pd.DataFrame, taxonomy: pd.DataFrame, sample_submission: pd.DataFrame
) -> tuple[list[str], list[str]]:
    """Build the pretrain classes (every species seen) and the train classes.

    Returns:
        `(pretrain_classes, train_classes)`; train classes follow the
        `sample_submission.csv` column order when present, else the taxonomy.
    """
    pretrain_classes = pretrain_classes_from(recordings)
    train_classes = train_classes_from(taxonomy, sample_submission)
    without_audio = sorted(set(train_classes) - set(recordings["primary_label"]))
    if without_audio:
        logger.warning(
            "%d train classes have no recording with that primary label and "
            "keep their submission column: %s",
            len(without_audio),
            without_audio,
        )
    logger.info(
        "%d pretrain classes, %d train classes",
        len(pretrain_classes),
        len(train_classes),
    )
    return pretrain_classes, train_classes


def split_folds(recordings: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Assign validation folds (see `bird_pipeline.evaluation.folds` for the rules).

    Args:
        recordings: Decoded recordings table.
        params: The `validation` block: `n_folds` and `seed`.

    Returns:
        `recording_id`, `primary_label` and `fold` (-1 trains in every fold).
    """
    folds = assign_folds(recordings, int(params["n_folds"]), int(params["seed"]))
    logger.info("Recordings per fold: %s", fold_sizes(folds))
    return pd.DataFrame(
        {
            "recording_id": recordings["recording_id"],
            "primary_label": recordings["primary_label"],
            "fold": folds,
        }
    )


def decode_labelled_soundscapes(
    test_soundscapes: dict[str, Callable[[], tuple[np.ndarray, int]]],
    soundscape_labels: pd.DataFrame,
    params: dict,
) -> dict[str, np.ndarray]:
    """Decode the soundscapes that `soundscape_labels.csv` labels, for validation.

    Returns:
        Waveforms keyed by soundscape id (the file stem); empty when the data
        set has no soundscape labels.

    Raises:
        ValueError: A labelled soundscape has no audio file.
    """
    if not len(soundscape_labels):
        logger.info("No soundscape labels: soundscapes are not used for validation")
        return {}
    by_stem = {
        PurePosixPath(name).stem: loader for name, loader in test_soundscapes.items()
    }
    labelled = sorted(set(soundscape_labels["soundscape_id"]))
    missing = [
        soundscape_id for soundscape_id in labelled if soundscape_id not in by_stem
    ]
    if missing:
        raise ValueError(
            f"soundscape_labels.csv labels soundscapes without audio in "
            f"test_soundscapes/: {missing}; add the files or remove their rows"
        )
    waveforms = {}
    for soundscape_id in labelled:
        try:
            waveforms[soundscape_id] = _decode_one(
                by_stem[soundscape_id], int(params["sample_rate"])
            )
        except AudioDecodeError as exc:
            raise ValueError(f"labelled soundscape {soundscape_id!r}: {exc}") from exc
    logger.info("Decoded %d labelled soundscapes for validation", len(waveforms))
    return waveforms
