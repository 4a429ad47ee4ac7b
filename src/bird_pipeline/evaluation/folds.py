"""Validation folds: stratified by primary label, grouped by file name.

Rules:
- Recordings that share a file name across species folders (the same audio
  uploaded under two labels) form one group and always land in one fold.
- A class with fewer recordings than folds cannot appear in every validation
  fold. Its recordings get fold -1, meaning "train in every fold", so no class
  loses its only training data. When such a recording shares a group with
  others, the whole group gets -1 so that nothing leaks into validation.
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

logger = logging.getLogger(__name__)

TRAIN_ONLY = -1


def assign_folds(recordings: pd.DataFrame, n_folds: int, seed: int) -> pd.Series:
    """Return the fold of each recording (0 to `n_folds - 1`, or -1 for train-only).

    Args:
        recordings: Table with `recording_id` and `primary_label`.
        n_folds: Number of folds, at least 2.
        seed: Shuffling seed of the split.

    Raises:
        ValueError: `n_folds` is below 2, or too few recordings remain to split.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    groups = recordings["recording_id"].map(lambda path: PurePosixPath(path).name)
    counts = recordings["primary_label"].map(recordings["primary_label"].value_counts())
    rare_groups = set(groups[counts < n_folds])
    train_only = groups.isin(rare_groups)

    folds = pd.Series(TRAIN_ONLY, index=recordings.index, dtype=int)
    splittable = recordings[~train_only]
    if len(splittable) < n_folds:
        raise ValueError(
            f"only {len(splittable)} recordings belong to classes with at least "
            f"{n_folds} recordings; lower validation.n_folds or turn validation off"
        )
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(
        splitter.split(splittable, splittable["primary_label"], groups[~train_only])
    ):
        folds.loc[splittable.index[held_out]] = fold

    logger.info(
        "Assigned %d folds; %d recordings of %d rare classes train in every fold",
        n_folds,
        int(train_only.sum()),
        recordings.loc[train_only, "primary_label"].nunique(),
    )
    return folds


def fold_sizes(folds: pd.Series) -> dict[int, int]:
    """Return the number of recordings per fold, train-only included as -1."""
    values, counts = np.unique(folds.to_numpy(), return_counts=True)
    return {int(value): int(count) for value, count in zip(values, counts, strict=True)}


def split_by_fold(
    recordings: pd.DataFrame, folds: pd.DataFrame, fold: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (training, held-out) recordings for one validation fold.

    Recordings missing from `folds` count as train-only.
    """
    assigned = recordings["recording_id"].map(folds.set_index("recording_id")["fold"])
    assigned = assigned.fillna(TRAIN_ONLY).astype(int)
    return recordings[assigned != fold], recordings[assigned == fold]
