"""Turn a BirdCLEF `train_metadata.csv` into a clean table of recordings.

The output table has one row per metadata row with the columns `recording_id`
(the metadata `filename` as a POSIX path under `train_audio/`, in Unicode NFC
form), `primary_label`, `secondary_labels` (space-separated codes) and `rating`
(float, 0.0 for unrated). Species codes are kept as strings everywhere.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from bird_pipeline.metadata.layouts import qualify_filenames

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("primary_label", "filename")
# A quoted item of a Python-list string; BirdCLEF years wrote lists with and
# without commas ("['a', 'b']" and "['a' 'b']").
_QUOTED_ITEM = re.compile(r"'([^']*)'|\"([^\"]*)\"")


class MetadataError(ValueError):
    """The metadata table cannot be used as it is."""


def parse_label_list(cell: object) -> list[str]:
    """Parse a `secondary_labels` cell into species codes.

    Accepts `"['a', 'b']"`, `"['a' 'b']"`, `"[]"`, `"['']"`, empty and missing
    cells. Empty strings are dropped.
    """
    if cell is None or (isinstance(cell, float) and pd.isna(cell)):
        return []
    text = str(cell).strip()
    if not text or text == "[]":
        return []
    labels = [single or double for single, double in _QUOTED_ITEM.findall(text)]
    return [label.strip() for label in labels if label.strip()]


def parse_rating(cell: object) -> float | None:
    """Parse a `rating` cell; empty and missing cells are 0.0 (unrated).

    Returns None for text that is not a number in [0, 5].
    """
    if cell is None or (isinstance(cell, float) and pd.isna(cell)):
        return 0.0
    text = str(cell).strip()
    if not text or text.lower() == "nan":
        return 0.0
    try:
        rating = float(text)
    except ValueError:
        return None
    return rating if 0.0 <= rating <= 5.0 else None


def _parse_ratings(cells: pd.Series) -> list[float]:
    ratings = [parse_rating(cell) for cell in cells]
    invalid = [
        cell for cell, rating in zip(cells, ratings, strict=True) if rating is None
    ]
    if invalid:
        logger.warning(
            "%d ratings are not numbers in [0, 5] and count as unrated (0.0): %s",
            len(invalid),
            sorted(set(map(str, invalid)))[:10],
        )
    return [0.0 if rating is None else rating for rating in ratings]


def validate_metadata(metadata: pd.DataFrame) -> pd.DataFrame:
    """Check the required columns and normalise every row.

    Args:
        metadata: `train_metadata.csv` read with every column as a string.

    Returns:
        The recordings table described in the module docstring, one row per
        metadata row; `split_duplicate_rows` removes repeated filenames.

    Raises:
        MetadataError: A required column is missing, or a row has an empty
            `primary_label` or `filename`.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in metadata.columns]
    if missing:
        raise MetadataError(
            f"train_metadata.csv lacks the columns {missing}; it has "
            f"{list(metadata.columns)}. BirdCLEF layouts name them "
            f"'primary_label' and 'filename'"
        )
    primary = metadata["primary_label"].fillna("").astype(str).str.strip()
    filename = metadata["filename"].fillna("").astype(str).str.strip()
    empty = metadata.index[(primary == "") | (filename == "")]
    if len(empty):
        raise MetadataError(
            f"train_metadata.csv rows {list(empty[:10])} have an empty "
            f"primary_label or filename; fix or delete them"
        )

    secondary = metadata.get("secondary_labels", pd.Series("", index=metadata.index))
    rating = metadata.get("rating", pd.Series("", index=metadata.index))
    recordings = pd.DataFrame(
        {
            "recording_id": qualify_filenames(
                pd.DataFrame({"primary_label": primary, "filename": filename})
            ),
            "primary_label": primary,
            "secondary_labels": [
                " ".join(parse_label_list(cell)) for cell in secondary
            ],
            "rating": _parse_ratings(rating),
        }
    )
    return recordings.reset_index(drop=True)


def split_duplicate_rows(recordings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep the first row of each `recording_id`; return the rest separately.

    Returns:
        `(unique, duplicates)`; `duplicates` has `recording_id`, `reason`
        (`duplicate row`) and `detail`, which states whether the labels differ
        from the kept row.
    """
    repeated = recordings.duplicated(subset=["recording_id"], keep="first")
    unique = recordings[~repeated].reset_index(drop=True)
    kept = unique.set_index("recording_id")
    rows = []
    for row in recordings[repeated].itertuples(index=False):
        first = kept.loc[row.recording_id]
        same = (row.primary_label, row.secondary_labels) == (
            first["primary_label"],
            first["secondary_labels"],
        )
        detail = (
            "repeats an earlier row"
            if same
            else f"repeats an earlier row with other labels ({row.primary_label!r} "
            f"[{row.secondary_labels}] vs {first['primary_label']!r} "
            f"[{first['secondary_labels']}]); the first row is kept"
        )
        rows.append(
            {
                "recording_id": row.recording_id,
                "reason": "duplicate row",
                "detail": detail,
            }
        )
    if rows:
        logger.warning("Dropped %d metadata rows that repeat a filename", len(rows))
    return unique, pd.DataFrame(rows, columns=["recording_id", "reason", "detail"])
