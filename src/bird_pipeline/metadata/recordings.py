"""Turn a BirdCLEF `train_metadata.csv` into a clean table of recordings.

The output table has one row per usable recording with the columns
`recording_id` (the metadata `filename`, a POSIX path under `train_audio/`),
`primary_label`, `secondary_labels` (space-separated codes) and `rating` (float).
Species codes are kept as strings everywhere.
"""

from __future__ import annotations

import logging
import re

import pandas as pd

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


def _parse_rating(cell: object) -> float:
    try:
        rating = float(cell)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return rating if pd.notna(rating) else 0.0


def validate_metadata(metadata: pd.DataFrame) -> pd.DataFrame:
    """Check the required columns and normalise every row.

    Args:
        metadata: `train_metadata.csv` read with every column as a string.

    Returns:
        The recordings table described in the module docstring, with duplicate
        rows removed (the count is logged).

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
            "recording_id": filename,
            "primary_label": primary,
            "secondary_labels": [
                " ".join(parse_label_list(cell)) for cell in secondary
            ],
            "rating": [_parse_rating(cell) for cell in rating],
        }
    )
    deduplicated = recordings.drop_duplicates(subset=["recording_id"], keep="first")
    if len(deduplicated) < len(recordings):
        logger.warning(
            "Dropped %d metadata rows that repeat a filename",
            len(recordings) - len(deduplicated),
        )
    return deduplicated.reset_index(drop=True)
