"""Differences between the BirdCLEF 2021 to 2025 folder layouts, read one way.

See docs/data_layouts.md for what each year ships and which facts were checked.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import TypeVar

import pandas as pd

logger = logging.getLogger(__name__)

# Columns of `taxonomy.csv` (2025 and this project) and of the eBird taxonomy
# file (`eBird_Taxonomy_v2021.csv`, shipped from 2021 to 2024) that contain codes.
TAXONOMY_CODE_COLUMNS = ("primary_label", "SPECIES_CODE", "species_code")
# A submission with one of these columns is in a long format with no species
# columns: 2021 (`row_id, site, audio_id, seconds, birds`) and 2022 (`row_id, target`).
LONG_FORMAT_COLUMNS = ("birds", "target")

Value = TypeVar("Value")


def normalise_name(name: str) -> str:
    """Return a file name in Unicode NFC form.

    macOS file systems store names decomposed (NFD) while CSV files usually
    hold them composed (NFC); comparing NFC forms matches both.
    """
    return unicodedata.normalize("NFC", name)


def index_by_normalised_name(files: Mapping[str, Value]) -> dict[str, Value]:
    """Key files by the NFC form of their relative path.

    Two files whose names differ only in normalisation keep the first in sorted
    order; the other is logged, because they name the same recording.
    """
    index: dict[str, Value] = {}
    for name in sorted(files):
        key = normalise_name(name)
        if key in index:
            logger.warning(
                "%r and another file have the same name after Unicode NFC "
                "normalisation; using the first in sorted order",
                name,
            )
            continue
        index[key] = files[name]
    return index


def qualify_filenames(metadata: pd.DataFrame) -> pd.Series:
    """Return `filename` as a path under the audio folder, in NFC form.

    BirdCLEF 2021 lists bare names (`XC109605.ogg`) inside species folders
    (`train_short_audio/acafly/XC109605.ogg`); later years list
    `acafly/XC109605.ogg`. A bare name gets its `primary_label` folder.
    """
    paths = []
    for label, filename in zip(
        metadata["primary_label"], metadata["filename"], strict=True
    ):
        path = str(filename).strip().replace("\\", "/")
        if "/" not in path:
            path = f"{label}/{path}"
        paths.append(normalise_name(path))
    return pd.Series(paths, index=metadata.index)


def metadata_from_folders(relative_paths: Iterable[str]) -> pd.DataFrame:
    """Build metadata rows for `train_audio/<label>/<file>` without a CSV.

    The folder name becomes `primary_label`; there are no secondary labels and
    no ratings. Files directly in `train_audio/` have no label and are logged.

    Raises:
        ValueError: No file sits in a species folder.
    """
    rows = []
    unlabelled = []
    for path in sorted(relative_paths):
        parts = PurePosixPath(path).parts
        if len(parts) < 2:
            unlabelled.append(path)
            continue
        rows.append({"primary_label": parts[0], "filename": path})
    if unlabelled:
        logger.warning(
            "Ignored %d files outside species folders, for lack of a label: %s",
            len(unlabelled),
            unlabelled[:10],
        )
    if not rows:
        raise ValueError(
            "no train_metadata.csv or train.csv, and no recordings in species "
            "folders (train_audio/<label>/<file>) to build the metadata from"
        )
    logger.info("Built metadata for %d recordings from species folders", len(rows))
    metadata = pd.DataFrame(rows)
    metadata["secondary_labels"] = "[]"
    metadata["rating"] = ""
    return metadata


def taxonomy_codes(taxonomy: pd.DataFrame) -> list[str]:
    """Return the species codes a taxonomy table lists, or [] without one."""
    for column in TAXONOMY_CODE_COLUMNS:
        if column in taxonomy.columns:
            codes = taxonomy[column].dropna().astype(str).str.strip()
            return [code for code in codes if code]
    return []


def submission_species(sample_submission: pd.DataFrame) -> list[str]:
    """Return the species columns of `sample_submission.csv` in file order.

    Long formats (2021 and 2022, see `LONG_FORMAT_COLUMNS`) have none.
    """
    columns = [str(column) for column in sample_submission.columns]
    if any(column in LONG_FORMAT_COLUMNS for column in columns):
        return []
    return [column for column in columns if column != "row_id"]
