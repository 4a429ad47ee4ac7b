"""Species codes outside the taxonomy: the `labels_outside_taxonomy` rule.

- `drop` (default): a recording whose primary label is unknown is skipped, and
  unknown secondary labels are removed from their recordings.
- `keep`: unknown codes stay; they become pretrain classes but never train classes.
- `reject`: any unknown code stops the run with a `MetadataError` naming them.

Every unknown code is counted and logged in all three cases.
"""

from __future__ import annotations

import logging
from collections import Counter

import pandas as pd

from bird_pipeline.metadata.recordings import MetadataError

logger = logging.getLogger(__name__)

RULES = ("drop", "keep", "reject")


def apply_taxonomy(
    recordings: pd.DataFrame, known_codes: set[str], rule: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply `rule` to the codes of `recordings` that `known_codes` lacks.

    Args:
        recordings: Table from `validate_metadata`.
        known_codes: Codes of the taxonomy and the submission columns. When
            empty (no taxonomy file), nothing is checked.
        rule: `drop`, `keep` or `reject`, as the module docstring describes.

    Returns:
        `(recordings, skipped)`: the recordings with the rule applied and a
        `dropped_secondary_labels` column (space-separated, empty unless the
        rule is `drop`), and one row per skipped recording (`recording_id`,
        `reason`, `detail`).

    Raises:
        ValueError: `rule` is not one of `RULES`.
        MetadataError: `rule` is `reject` and a code is unknown.
    """
    if rule not in RULES:
        raise ValueError(
            f"invalid labels_outside_taxonomy {rule!r}; use one of {list(RULES)}"
        )
    skipped = pd.DataFrame(columns=["recording_id", "reason", "detail"])
    recordings = recordings.assign(dropped_secondary_labels="")
    if not known_codes:
        logger.info("No taxonomy codes: labels are not checked against a taxonomy")
        return recordings, skipped

    unknown_primary = ~recordings["primary_label"].isin(known_codes)
    unknown_secondary = Counter(
        code
        for labels in recordings["secondary_labels"]
        for code in labels.split()
        if code not in known_codes
    )
    primary_counts = Counter(recordings.loc[unknown_primary, "primary_label"])
    if not primary_counts and not unknown_secondary:
        return recordings, skipped
    logger.warning(
        "Codes outside the taxonomy (rule %r): primary %s, secondary %s",
        rule,
        dict(primary_counts.most_common(20)),
        dict(unknown_secondary.most_common(20)),
    )
    if rule == "reject":
        raise MetadataError(
            f"train metadata uses codes that taxonomy.csv lacks: primary "
            f"{sorted(primary_counts)[:20]}, "
            f"secondary {sorted(unknown_secondary)[:20]}. "
            f"Fix the metadata or the taxonomy, or set "
            f"preprocess.labels_outside_taxonomy to 'drop' or 'keep'"
        )
    if rule == "keep":
        return recordings, skipped

    skipped = pd.DataFrame(
        {
            "recording_id": recordings.loc[unknown_primary, "recording_id"],
            "reason": "label not in taxonomy",
            "detail": [
                f"primary_label {code!r} is not in the taxonomy"
                for code in recordings.loc[unknown_primary, "primary_label"]
            ],
        }
    ).reset_index(drop=True)
    kept = recordings[~unknown_primary].copy()
    known_lists, dropped_lists = [], []
    for labels in kept["secondary_labels"]:
        codes = labels.split()
        known_lists.append(" ".join(code for code in codes if code in known_codes))
        dropped_lists.append(
            " ".join(code for code in codes if code not in known_codes)
        )
    kept["secondary_labels"] = known_lists
    kept["dropped_secondary_labels"] = dropped_lists
    return kept.reset_index(drop=True), skipped
