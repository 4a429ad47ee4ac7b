"""Nodes of the `preprocess` pipeline."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import numpy as np
import pandas as pd

from bird_pipeline.audio.decode import AudioDecodeError, check_samples, to_mono_at_rate
from bird_pipeline.datasets.audio_cache import AudioCache, remove_temporary_files
from bird_pipeline.datasets.audio_folder import AudioFile
from bird_pipeline.evaluation.folds import assign_folds, fold_sizes
from bird_pipeline.metadata import (
    apply_taxonomy,
    class_coverage,
    index_by_normalised_name,
    metadata_from_folders,
    pretrain_classes_from,
    split_duplicate_rows,
    submission_species,
    taxonomy_codes,
    train_classes_from,
    validate_metadata,
)
from bird_pipeline.pipelines.preprocess.decoding import (
    DecodeTask,
    resolve_workers,
    reusable_info,
    run_decode_tasks,
)
from bird_pipeline.pipelines.preprocess.skips import (
    check_max_skipped,
    log_skip_summary,
    skip_table,
)

logger = logging.getLogger(__name__)

# Recordings with at least this share of clipped samples are counted in the log.
CLIPPED_FRACTION_WARNING = 0.01


def validate_metadata_node(
    train_metadata: pd.DataFrame,
    train_audio: Mapping[str, AudioFile],
    taxonomy: pd.DataFrame,
    sample_submission: pd.DataFrame,
    params: dict,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Normalise the train metadata and skip rows that cannot be used.

    Without a metadata file (`train_metadata` empty) the rows are built from the
    species folders of `train_audio`. Rows are skipped, in this order, when
    they repeat a filename, when their primary label is outside the taxonomy
    (rule `preprocess.labels_outside_taxonomy`), or when their file is missing.

    Returns:
        The recordings table (see `bird_pipeline.metadata.recordings`) and one
        `bad_recordings` row per skipped metadata row.
    """
    if not len(train_metadata.columns):
        logger.info("No train_metadata.csv or train.csv: reading species folders")
        train_metadata = metadata_from_folders(train_audio)
    recordings = validate_metadata(train_metadata)
    listed = len(recordings)
    recordings, duplicates = split_duplicate_rows(recordings)

    known_codes = set(taxonomy_codes(taxonomy)) | set(
        submission_species(sample_submission)
    )
    recordings, outside_taxonomy = apply_taxonomy(
        recordings, known_codes, str(params["labels_outside_taxonomy"])
    )

    files = index_by_normalised_name(train_audio)
    present = recordings["recording_id"].isin(files)
    missing = pd.DataFrame(
        {
            "recording_id": recordings.loc[~present, "recording_id"],
            "reason": "file not found",
            "detail": [
                f"train_audio/{recording_id} does not exist"
                for recording_id in recordings.loc[~present, "recording_id"]
            ],
        }
    )
    paths = {recording_id: str(file.path) for recording_id, file in files.items()}
    skips = pd.concat(
        [
            skip_table(table, paths, "metadata")
            for table in (duplicates, outside_taxonomy, missing)
        ],
        ignore_index=True,
    )
    recordings = recordings[present].reset_index(drop=True)
    logger.info(
        "Metadata lists %d rows; %d recordings have a file", listed, len(recordings)
    )
    return recordings, skips


def decode_recordings(
    recordings: pd.DataFrame,
    train_audio: Mapping[str, AudioFile],
    audio_cache: AudioCache,
    params: dict,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Decode every listed recording into `audio_cache`, in parallel and incrementally.

    Files are decoded block by block in `preprocess.workers` processes into
    `<recording_id>.npy` (mono float32 at `sample_rate`). Entries whose source
    file kept its size and modification time are reused (see
    `bird_pipeline.pipelines.preprocess.decoding`). The cache folder is updated
    in place, so `audio_cache` is an input of this node.

    Args:
        recordings: Output of `validate_metadata_node`; every file exists.
        train_audio: Audio files keyed by path under `train_audio/`.
        audio_cache: The cache as it is before this run.
        params: `preprocess` parameters: `sample_rate` (Hz), `workers`,
            `block_seconds`, `min_seconds` and `min_decoded_fraction`.

    Returns:
        The recordings that decoded, with `duration_seconds`, `source_rate`,
        `channels` and `clipped_fraction`; and one `bad_recordings` row per
        recording that did not.
    """
    sample_rate = int(params["sample_rate"])
    removed = remove_temporary_files(audio_cache.root)
    if removed:
        logger.warning(
            "Removed %d temporary files of an interrupted earlier run from %s",
            removed,
            audio_cache.root,
        )
    files = index_by_normalised_name(train_audio)
    infos, tasks = _plan_decoding(recordings, files, audio_cache, params)
    workers = resolve_workers(params.get("workers"))
    logger.info(
        "Audio cache %s: %d entries reused, %d files to decode with %d workers",
        audio_cache.root,
        len(infos),
        len(tasks),
        workers,
    )
    rejected = []
    for result in run_decode_tasks(tasks, workers):
        if result.info is None:
            rejected.append(
                {
                    "recording_id": result.recording_id,
                    "reason": result.reason,
                    "detail": result.detail,
                }
            )
        else:
            infos[result.recording_id] = result.info
    rejected += _rejected_by_limits(infos, params)
    rejected_table = pd.DataFrame(
        rejected, columns=["recording_id", "reason", "detail"]
    )
    paths = {recording_id: str(file.path) for recording_id, file in files.items()}
    skips = skip_table(rejected_table, paths, "decode")

    usable = recordings[
        recordings["recording_id"].isin(infos)
        & ~recordings["recording_id"].isin(rejected_table["recording_id"])
    ]
    usable = _with_decode_columns(usable, infos, sample_rate)
    clipped = int((usable["clipped_fraction"] >= CLIPPED_FRACTION_WARNING).sum())
    if clipped:
        logger.warning(
            "%d recordings have at least %.0f%% clipped samples; they are kept, "
            "see the clipped_fraction column of recordings.csv",
            clipped,
            100 * CLIPPED_FRACTION_WARNING,
        )
    logger.info(
        "Decoded %d recordings, %.1f s of audio",
        len(usable),
        usable["duration_seconds"].sum(),
    )
    return usable, skips


def _plan_decoding(
    recordings: pd.DataFrame,
    files: Mapping[str, AudioFile],
    audio_cache: AudioCache,
    params: dict,
) -> tuple[dict[str, dict[str, Any]], list[DecodeTask]]:
    """Split recordings into reusable cache entries (their info) and decode tasks."""
    sample_rate = int(params["sample_rate"])
    infos: dict[str, dict[str, Any]] = {}
    tasks = []
    for recording_id in recordings["recording_id"]:
        source = files[recording_id].path
        info = reusable_info(audio_cache, recording_id, source, sample_rate)
        if info is not None:
            infos[recording_id] = info
            continue
        tasks.append(
            DecodeTask(
                recording_id=recording_id,
                source=source,
                cache_root=audio_cache.root,
                sample_rate=sample_rate,
                block_seconds=float(params["block_seconds"]),
            )
        )
    return infos, tasks


def _with_decode_columns(
    recordings: pd.DataFrame, infos: dict[str, dict[str, Any]], sample_rate: int
) -> pd.DataFrame:
    """Add `duration_seconds`, `source_rate`, `channels` and `clipped_fraction`."""
    table = recordings.copy()
    ids = table["recording_id"]
    table["duration_seconds"] = [infos[key]["samples"] / sample_rate for key in ids]
    for column in ("source_rate", "channels", "clipped_fraction"):
        table[column] = [infos[key][column] for key in ids]
    return table.reset_index(drop=True)


def _rejected_by_limits(
    infos: dict[str, dict[str, Any]], params: dict
) -> list[dict[str, str]]:
    """Apply the length rules to decoded entries, new and reused alike.

    A recording is `truncated` when it decoded to fewer than
    `min_decoded_fraction` of the frames its header announces, and `too short`
    when it lasts less than `min_seconds`.
    """
    min_fraction = float(params["min_decoded_fraction"])
    min_samples = float(params["min_seconds"]) * int(params["sample_rate"])
    rejected = []
    for recording_id, info in infos.items():
        header, decoded = info["header_frames"], info["decoded_frames"]
        if header > 0 and decoded < min_fraction * header:
            rejected.append(
                {
                    "recording_id": recording_id,
                    "reason": "truncated",
                    "detail": f"decoded {decoded} of the {header} frames in the "
                    f"header, below min_decoded_fraction={min_fraction}",
                }
            )
        elif info["samples"] < min_samples:
            rejected.append(
                {
                    "recording_id": recording_id,
                    "reason": "too short",
                    "detail": f"{info['samples']} samples, below min_seconds="
                    f"{params['min_seconds']}",
                }
            )
    return rejected


def report_bad_recordings(
    metadata_recordings: pd.DataFrame,
    metadata_skips: pd.DataFrame,
    decode_skips: pd.DataFrame,
) -> pd.DataFrame:
    """Join the metadata and decode skips into `bad_recordings` and log a summary."""
    bad_recordings = pd.concat([metadata_skips, decode_skips], ignore_index=True)
    log_skip_summary(bad_recordings, len(metadata_recordings) + len(metadata_skips))
    return bad_recordings


def enforce_max_skipped(
    decoded_recordings: pd.DataFrame, bad_recordings: pd.DataFrame, params: dict
) -> pd.DataFrame:
    """Pass the decoded recordings on unless more than `max_skipped` were skipped.

    A separate node, so that `bad_recordings` is saved before the run fails.

    Raises:
        RuntimeError: More than `preprocess.max_skipped` rows were skipped.
    """
    check_max_skipped(bad_recordings, int(params["max_skipped"]))
    return decoded_recordings


def build_class_lists(
    recordings: pd.DataFrame, taxonomy: pd.DataFrame, sample_submission: pd.DataFrame
) -> tuple[list[str], list[str], pd.DataFrame]:
    """Build the pretrain classes (every species seen), the train classes and coverage.

    A train class without any usable recording keeps its place (and so its
    submission column); it is logged by name and has 0 in `class_coverage`.

    Returns:
        `(pretrain_classes, train_classes, class_coverage)`; train classes
        follow `sample_submission.csv`, else `taxonomy.csv`, else the
        recordings (see `train_classes_from`).
    """
    pretrain_classes = pretrain_classes_from(recordings)
    train_classes = train_classes_from(taxonomy, sample_submission, recordings)
    coverage = class_coverage(recordings, train_classes)
    without_audio = coverage.loc[
        coverage["primary_recordings"] == 0, "primary_label"
    ].tolist()
    if without_audio:
        logger.warning(
            "%d train classes have no usable recording with that primary label "
            "and keep their submission column: %s",
            len(without_audio),
            without_audio,
        )
    logger.info(
        "%d pretrain classes, %d train classes",
        len(pretrain_classes),
        len(train_classes),
    )
    return pretrain_classes, train_classes, coverage


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


def _decode_one(
    loader: Callable[[], tuple[np.ndarray, int]], sample_rate: int
) -> np.ndarray:
    samples, source_rate = loader()
    check_samples(samples, "the recording")
    return to_mono_at_rate(samples, source_rate, sample_rate)


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
