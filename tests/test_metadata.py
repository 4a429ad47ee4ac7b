"""Metadata parsing, validation and the class lists."""

from __future__ import annotations

import pandas as pd
import pytest

from bird_pipeline.metadata import (
    MetadataError,
    apply_taxonomy,
    class_coverage,
    parse_label_list,
    parse_rating,
    pretrain_classes_from,
    split_duplicate_rows,
    submission_species,
    taxonomy_codes,
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
        ("['a','b']", ["a", "b"]),
        ("[ 'a' ,  'b' ]", ["a", "b"]),
        ("['a', '']", ["a"]),
        ("['1139490', 'grekis']", ["1139490", "grekis"]),
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


def test_duplicate_rows_split_off():
    metadata = make_metadata(filename=["aaa/1.ogg", "bbb/2.ogg", "aaa/1.ogg"])
    unique, duplicates = split_duplicate_rows(validate_metadata(metadata))
    assert unique["recording_id"].tolist() == ["aaa/1.ogg", "bbb/2.ogg"]
    assert duplicates["recording_id"].tolist() == ["aaa/1.ogg"]
    assert duplicates["reason"].tolist() == ["duplicate row"]
    assert duplicates["detail"].tolist() == ["repeats an earlier row"]


def test_duplicate_rows_name_conflicting_labels():
    metadata = make_metadata(
        primary_label=["aaa", "bbb", "bbb"],
        filename=["aaa/1.ogg", "bbb/2.ogg", "aaa/1.ogg"],
    )
    _, duplicates = split_duplicate_rows(validate_metadata(metadata))
    assert "with other labels ('bbb' [] vs 'aaa' [])" in duplicates["detail"][0]


def test_secondary_labels_column_missing():
    recordings = validate_metadata(make_metadata().drop(columns=["secondary_labels"]))
    assert recordings["secondary_labels"].tolist() == ["", "", ""]


def test_secondary_labels_missing_cells():
    metadata = make_metadata(secondary_labels=[None, float("nan"), "['']"])
    assert validate_metadata(metadata)["secondary_labels"].tolist() == ["", "", ""]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("4.5", 4.5),
        ("", 0.0),
        (None, 0.0),
        (float("nan"), 0.0),
        ("nan", 0.0),
        ("0", 0.0),
        ("0.0", 0.0),
        ("5", 5.0),
        ("good", None),
        ("7", None),
        ("-1", None),
    ],
)
def test_parse_rating_forms(cell, expected):
    assert parse_rating(cell) == expected


def test_invalid_ratings_count_as_unrated(caplog):
    metadata = make_metadata(rating=["good", "7", "3"])
    recordings = validate_metadata(metadata)
    assert recordings["rating"].tolist() == [0.0, 0.0, 3.0]
    assert "2 ratings are not numbers in [0, 5]" in caplog.text


def test_bare_filenames_get_label_folder():
    metadata = make_metadata(filename=["1.ogg", "bbb/2.ogg", "sub\\3.ogg"])
    recordings = validate_metadata(metadata)
    assert recordings["recording_id"].tolist() == [
        "aaa/1.ogg",
        "bbb/2.ogg",
        "sub/3.ogg",
    ]


def test_filenames_normalised_to_nfc():
    decomposed = "aaa/cafe\u0301.ogg"
    recordings = validate_metadata(
        make_metadata(filename=[decomposed, "b/2.ogg", "3.ogg"])
    )
    assert recordings["recording_id"][0] == "aaa/caf\u00e9.ogg"


def test_numeric_codes_stay_strings():
    metadata = make_metadata(
        primary_label=["1139490", "0042", "aaa"],
        secondary_labels=["['0042']", "[]", "['1139490']"],
    )
    recordings = validate_metadata(metadata)
    assert recordings["primary_label"].tolist() == ["1139490", "0042", "aaa"]
    assert pretrain_classes_from(recordings) == ["0042", "1139490", "aaa"]


def make_recordings(secondary: list[str]) -> pd.DataFrame:
    return validate_metadata(
        make_metadata(primary_label=["aaa", "zzz", "bbb"], secondary_labels=secondary)
    )


def test_taxonomy_drop_skips_unknown_primary():
    recordings = make_recordings(["['yyy', 'bbb']", "[]", "[]"])
    kept, skipped = apply_taxonomy(recordings, {"aaa", "bbb"}, "drop")
    assert kept["recording_id"].tolist() == ["aaa/1.ogg", "aaa/3.ogg"]
    assert kept["secondary_labels"].tolist() == ["bbb", ""]
    assert kept["dropped_secondary_labels"].tolist() == ["yyy", ""]
    assert skipped["recording_id"].tolist() == ["bbb/2.ogg"]
    assert skipped["reason"].tolist() == ["label not in taxonomy"]


def test_taxonomy_keep_logs_unknown(caplog):
    recordings = make_recordings(["['yyy']", "[]", "[]"])
    kept, skipped = apply_taxonomy(recordings, {"aaa", "bbb"}, "keep")
    assert len(kept) == 3
    assert kept["secondary_labels"][0] == "yyy"
    assert not len(skipped)
    assert "primary {'zzz': 1}, secondary {'yyy': 1}" in caplog.text


def test_taxonomy_reject_names_codes():
    recordings = make_recordings(["['yyy']", "[]", "[]"])
    with pytest.raises(MetadataError, match=r"primary \['zzz'\], secondary \['yyy'\]"):
        apply_taxonomy(recordings, {"aaa", "bbb"}, "reject")


def test_taxonomy_empty_checks_nothing():
    recordings = make_recordings(["['yyy']", "[]", "[]"])
    kept, skipped = apply_taxonomy(recordings, set(), "reject")
    assert len(kept) == 3
    assert not len(skipped)


def test_taxonomy_unknown_rule_raises():
    with pytest.raises(ValueError, match="invalid labels_outside_taxonomy 'ignore'"):
        apply_taxonomy(make_recordings(["[]"] * 3), {"aaa"}, "ignore")


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["row_id", "aaa", "1139490"], ["aaa", "1139490"]),
        (["row_id", "site", "audio_id", "seconds", "birds"], []),
        (["row_id", "target"], []),
        ([], []),
    ],
)
def test_submission_species_formats(columns, expected):
    assert submission_species(pd.DataFrame(columns=columns)) == expected


@pytest.mark.parametrize("column", ["primary_label", "SPECIES_CODE", "species_code"])
def test_taxonomy_code_columns(column):
    taxonomy = pd.DataFrame({column: ["aaa", " bbb ", ""], "other": ["x", "y", "z"]})
    assert taxonomy_codes(taxonomy) == ["aaa", "bbb"]


def test_train_classes_fall_back_to_recordings():
    recordings = validate_metadata(make_metadata())
    long_submission = pd.DataFrame(columns=["row_id", "target"])
    ebird = pd.DataFrame({"SPECIES_CODE": ["aaa", "bbb", "ccc", "ddd"]})
    assert train_classes_from(ebird, long_submission, recordings) == ["aaa", "bbb"]


def test_class_coverage_counts_zero():
    recordings = validate_metadata(make_metadata())
    coverage = class_coverage(recordings, ["ccc", "aaa", "zzz"])
    assert coverage["primary_label"].tolist() == ["ccc", "aaa", "zzz"]
    assert coverage["primary_recordings"].tolist() == [0, 2, 0]
    assert coverage["secondary_recordings"].tolist() == [1, 1, 0]


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
