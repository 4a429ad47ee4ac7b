"""The two label spaces: pretrain classes and train (target) classes."""

from __future__ import annotations

import pandas as pd


def pretrain_classes_from(recordings: pd.DataFrame) -> list[str]:
    """Return every species seen as a primary or secondary label, sorted."""
    species = set(recordings["primary_label"])
    for labels in recordings["secondary_labels"]:
        species.update(labels.split())
    return sorted(species)


def train_classes_from(
    taxonomy: pd.DataFrame, sample_submission: pd.DataFrame
) -> list[str]:
    """Return the target species in submission order.

    The order is that of the `sample_submission.csv` columns after `row_id` when
    the file is present, else that of `taxonomy.csv`'s `primary_label` column.

    Raises:
        ValueError: Neither table names any species.
    """
    if len(sample_submission.columns):
        classes = [column for column in sample_submission.columns if column != "row_id"]
    elif "primary_label" in taxonomy.columns:
        classes = [str(code).strip() for code in taxonomy["primary_label"]]
    else:
        classes = []
    if not classes:
        raise ValueError(
            "no target species found: sample_submission.csv is missing or has only "
            "row_id, and taxonomy.csv has no primary_label column"
        )
    duplicates = sorted({code for code in classes if classes.count(code) > 1})
    if duplicates:
        raise ValueError(f"target species listed twice: {duplicates}")
    return classes
