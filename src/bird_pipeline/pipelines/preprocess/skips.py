"""The `bad_recordings` report: one row per metadata row or file that was skipped."""

from __future__ import annotations

import logging

import pandas as pd

logger = logging.getLogger(__name__)

# recording_id: metadata filename; path: the audio file, or where it was expected;
# reason: short category; detail: the error; stage: `metadata` or `decode`.
BAD_RECORDING_COLUMNS = ["recording_id", "path", "reason", "detail", "stage"]


def skip_table(
    rejected: pd.DataFrame, paths: dict[str, str], stage: str
) -> pd.DataFrame:
    """Turn rows of `recording_id`, `reason`, `detail` into report rows.

    Args:
        rejected: The skipped rows.
        paths: Audio file path per recording id; ids without one get the path
            under `train_audio/` where the file was expected.
        stage: `metadata` or `decode`.
    """
    table = pd.DataFrame(
        {
            "recording_id": rejected["recording_id"].astype(str),
            "path": [
                paths.get(recording_id, f"train_audio/{recording_id}")
                for recording_id in rejected["recording_id"]
            ],
            "reason": rejected["reason"].astype(str),
            "detail": rejected["detail"].astype(str),
            "stage": stage,
        },
        columns=BAD_RECORDING_COLUMNS,
    )
    return table.reset_index(drop=True)


def log_skip_summary(bad_recordings: pd.DataFrame, listed: int) -> None:
    """Log how many rows were skipped, per stage and reason."""
    if not len(bad_recordings):
        logger.info("No recording was skipped out of %d metadata rows", listed)
        return
    counts = bad_recordings.groupby(["stage", "reason"]).size()
    logger.warning(
        "Skipped %d of %d metadata rows (listed in bad_recordings.csv); "
        "per stage and reason: %s",
        len(bad_recordings),
        listed,
        {f"{stage}: {reason}": int(count) for (stage, reason), count in counts.items()},
    )


def check_max_skipped(bad_recordings: pd.DataFrame, max_skipped: int) -> None:
    """Raise when more rows were skipped than `max_skipped` allows.

    Raises:
        RuntimeError: Names up to 20 skipped files with their reasons, and the fix.
    """
    if len(bad_recordings) <= max_skipped:
        return
    examples = [
        f"{row.path} ({row.reason})"
        for row in bad_recordings.head(20).itertuples(index=False)
    ]
    raise RuntimeError(
        f"{len(bad_recordings)} metadata rows or files were skipped, more than "
        f"preprocess.max_skipped={max_skipped}: {examples}. The full list is in "
        f"bad_recordings.csv. Fix or remove these files and rows, or raise "
        f"preprocess.max_skipped"
    )
