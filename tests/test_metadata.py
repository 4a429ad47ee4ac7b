"""Metadata parsing, validation and the class lists."""

from __future__ import annotations

import pandas as pd
import pytest

from bird_pipeline.metadata import (
    MetadataError,
    parse_label_list,
    pretrain_classes_from,
    train_classes_from,
    validate_metadata,
)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("['a', 'b']", ["a", "b"]),
        ("['a' 'b']", ["a", "b"]),
        ('["a", "b"]', ["a", "b"]),
        ("[]", []),
        ("['']", []),
        ("", []),
        (None, []),
        (float("nan"), []),
        ("['1139490']", ["1139490"]),
    ],
)
def test_parse_label_list_forms(cell, expected):
    assert parse_label_list(cell) == expected


def make_metadata(**columns) -> pd.DataFrame:
    base = {
        "primary_label": ["aaa", "bbb", "aaa"],
        "secondary_labels": ["[]", "['aaa', 'ccc']", "[]"],
        "rating": ["4.5", "", "0.0"],
        "filename": ["aaa/1.ogg", "bbb/2.ogg", "aaa/3.ogg"],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_validate_metadata_normalises_rows():
    recordings = validate_metadata(make_metadata())
    assert list(recordings.columns) == [
        "recording_id",
        "primary_label",
        "secondary_labels",
        "rating",
    ]
    assert recordings["secondary_labels"].tolist() == ["", "aaa ccc", ""]
    assert recordings["rating"].tolist() == [4.5, 0.0, 0.0]


def test_validate_metadata_drops_duplicate_rows():
    metadata = make_metadata(filename=["aaa/1.ogg", "bbb/2.ogg", "aaa/1.ogg"])
    assert len(validate_metadata(metadata)) == 2


def test_validate_metadata_missing_column_raises():
    metadata = make_metadata().drop(columns=["filename"])
    with pytest.raises(MetadataError, match="lacks the columns \\['filename'\\]"):
        validate_metadata(metadata)


def test_validate_metadata_empty_label_raises():
    metadata = make_metadata(primary_label=["aaa", "", "aaa"])
    with pytest.raises(MetadataError, match="rows \\[1\\]"):
        validate_metadata(metadata)


def test_pretrain_classes_include_secondary():
    recordings = validate_metadata(make_metadata())
    assert pretrain_classes_from(recordings) == ["aaa", "bbb", "ccc"]


def test_train_classes_follow_sample_submission():
    taxonomy = pd.DataFrame({"primary_label": ["aaa", "bbb", "ccc"]})
    submission = pd.DataFrame(columns=["row_id", "ccc", "aaa", "bbb"])
    assert train_classes_from(taxonomy, submission) == ["ccc", "aaa", "bbb"]


def test_train_classes_fall_back_to_taxonomy():
    taxonomy = pd.DataFrame({"primary_label": ["bbb", "aaa"]})
    assert train_classes_from(taxonomy, pd.DataFrame()) == ["bbb", "aaa"]


def test_train_classes_duplicates_raise():
    taxonomy = pd.DataFrame({"primary_label": ["aaa", "aaa"]})
    with pytest.raises(ValueError, match="listed twice: \\['aaa'\\]"):
        train_classes_from(taxonomy, pd.DataFrame())
