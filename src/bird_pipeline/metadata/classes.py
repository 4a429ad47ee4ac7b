"""The two label spaces: pretrain classes and train (target) classes."""

from __future__ import annotations

import pandas as pd

from bird_pipeline.metadata.layouts import submission_species


def pretrain_classes_from(recordings: pd.DataFrame) -> list[str]:
    """Return every species seen as a primary or secondary label, sorted."""
    species = set(recordings["primary_label"])
    for labels in recordings["secondary_labels"]:
        species.update(labels.split())
    return sorted(species)


def train_classes_from(
    taxonomy: pd.DataFrame,
    sample_submission: pd.DataFrame,
    recordings: pd.DataFrame | None = None,
) -> list[str]:
    """Return the target species in submission order.

    The first source that names species wins: the species columns of
    `sample_submission.csv` (2023 to 2025), the `primary_label` column of
    `taxonomy.csv` (2025 and this project's layout), then the sorted primary
    labels of `recordings`. The eBird taxonomy of 2021 to 2024 lists the bird
    species of the whole world, not only the competition's, so its
    `SPECIES_CODE` column is not used here.

    Raises:
        ValueError: No source names any species, or one names a species twice.
    """
    classes = submission_species(sample_submission)
    if not classes and "primary_label" in taxonomy.columns:
        classes = [str(code).strip() for code in taxonomy["primary_label"]]
    if not classes and recordings is not None:
        classes = sorted(set(recordings["primary_label"]))
    if not classes:
        raise ValueError(
            "no target species found: sample_submission.csv has no species "
            "columns, taxonomy.csv has no primary_label column and no recording "
            "has a primary label"
        )
    duplicates = sorted({code for code in classes if classes.count(code) > 1})
    if duplicates:
        raise ValueError(f"target species listed twice: {duplicates}")
    return classes


def class_coverage(recordings: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Count the usable recordings of each class, as primary and as secondary label.

    Returns:
        `primary_label`, `primary_recordings`, `secondary_recordings`, in
        `classes` order.
    """
    primary = recordings["primary_label"].value_counts()
    secondary = pd.Series(
        [code for labels in recordings["secondary_labels"] for code in labels.split()],
        dtype=object,
    ).value_counts()
    return pd.DataFrame(
        {
            "primary_label": classes,
            "primary_recordings": [int(primary.get(code, 0)) for code in classes],
            "secondary_recordings": [int(secondary.get(code, 0)) for code in classes],
        }
    )
