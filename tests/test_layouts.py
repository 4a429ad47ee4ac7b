"""Generated metadata in each BirdCLEF year's layout, read through the catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from bird_pipeline.datasets import CSVTableDataset, JSONReportDataset
from bird_pipeline.pipelines.preprocess.nodes import (
    build_class_lists,
    validate_metadata_node,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PARAMS = {"labels_outside_taxonomy": "drop"}
EBIRD_COLUMNS = [
    "TAXON_ORDER",
    "CATEGORY",
    "SPECIES_CODE",
    "PRIMARY_COM_NAME",
    "SCI_NAME",
]


def write_tone(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(16000) / 16000
    sf.write(path, (0.3 * np.sin(2 * np.pi * 500 * t)).astype(np.float32), 16000)


def write_csv(path: Path, rows: list[dict] | pd.DataFrame) -> None:
    pd.DataFrame(rows).to_csv(path, index=False)


def ebird_taxonomy(codes: list[str]) -> list[dict]:
    return [
        dict(
            zip(
                EBIRD_COLUMNS,
                [str(i), "species", code, code.upper(), code],
                strict=True,
            )
        )
        for i, code in enumerate(codes)
    ]


def metadata_row(columns: list[str], **values: str) -> dict:
    """A metadata row with every column of a year; unset columns get filler text."""
    return {column: values.get(column, "x") for column in columns}


def write_2021(raw: Path) -> None:
    columns = [
        "primary_label", "secondary_labels", "type", "latitude", "longitude",
        "scientific_name", "common_name", "date", "filename", "license", "rating",
        "time", "url",
    ]  # fmt: skip
    rows = [
        metadata_row(columns, primary_label="acafly", secondary_labels="['amecro']",
                     filename="XC109605.ogg", rating="2.5"),
        metadata_row(columns, primary_label="amecro", secondary_labels="[]",
                     filename="XC109605.ogg", rating="4"),
    ]  # fmt: skip
    write_csv(raw / "train_metadata.csv", rows)
    write_csv(
        raw / "eBird_Taxonomy_v2021.csv", ebird_taxonomy(["acafly", "amecro", "zzz"])
    )
    write_csv(raw / "sample_submission.csv", [
        {"row_id": "3575_COL_5", "site": "COL", "audio_id": "3575", "seconds": "5",
         "birds": "nocall"},
    ])  # fmt: skip
    write_tone(raw / "train_short_audio/acafly/XC109605.ogg")
    write_tone(raw / "train_short_audio/amecro/XC109605.ogg")


def write_2022(raw: Path) -> None:
    columns = [
        "primary_label", "secondary_labels", "type", "latitude", "longitude",
        "scientific_name", "common_name", "author", "license", "rating", "time",
        "url", "filename",
    ]  # fmt: skip
    rows = [
        metadata_row(columns, primary_label="afrsil1",
                     secondary_labels="['houspa' 'comwax']",
                     filename="afrsil1/XC125458.ogg", rating="2.5"),
        metadata_row(columns, primary_label="houspa", secondary_labels="['']",
                     filename="houspa/XC1.ogg", rating="0.0"),
    ]  # fmt: skip
    write_csv(raw / "train_metadata.csv", rows)
    write_csv(raw / "eBird_Taxonomy_v2021.csv", ebird_taxonomy(["afrsil1", "houspa"]))
    write_csv(raw / "sample_submission.csv", [{"row_id": "a_b_5", "target": "False"}])
    write_tone(raw / "train_audio/afrsil1/XC125458.ogg")
    write_tone(raw / "train_audio/houspa/XC1.ogg")


def write_2023_2024(raw: Path) -> None:
    columns = [
        "primary_label", "secondary_labels", "type", "latitude", "longitude",
        "scientific_name", "common_name", "author", "license", "rating", "url",
        "filename",
    ]  # fmt: skip
    rows = [
        metadata_row(columns, primary_label="abethr1", secondary_labels="[]",
                     filename="abethr1/XC128013.ogg", rating="4.0"),
        metadata_row(columns, primary_label="yebapa1",
                     secondary_labels="['abethr1', 'grewar3']",
                     filename="yebapa1/XC2.ogg", rating=""),
    ]  # fmt: skip
    write_csv(raw / "train_metadata.csv", rows)
    write_csv(raw / "eBird_Taxonomy_v2021.csv", ebird_taxonomy(["abethr1", "yebapa1"]))
    write_csv(
        raw / "sample_submission.csv",
        pd.DataFrame(columns=["row_id", "yebapa1", "abethr1", "grewar3"]),
    )
    write_tone(raw / "train_audio/abethr1/XC128013.ogg")
    write_tone(raw / "train_audio/yebapa1/XC2.ogg")


def write_2025(raw: Path) -> None:
    columns = [
        "primary_label", "secondary_labels", "type", "filename", "collection",
        "rating", "url", "latitude", "longitude", "scientific_name", "common_name",
        "author", "license",
    ]  # fmt: skip
    rows = [
        metadata_row(columns, primary_label="1139490", secondary_labels="['']",
                     filename="1139490/CSA36385.ogg", collection="CSA", rating="0.0"),
        metadata_row(columns, primary_label="grekis", secondary_labels="['1139490']",
                     filename="grekis/iNat1.ogg", collection="iNat", rating="0.0"),
        metadata_row(columns, primary_label="0042", secondary_labels="[]",
                     filename="0042/XC3.ogg", collection="XC", rating="5.0"),
    ]  # fmt: skip
    write_csv(raw / "train.csv", rows)
    write_csv(raw / "taxonomy.csv", [
        {"primary_label": code, "inat_taxon_id": "1", "scientific_name": "s",
         "common_name": "c", "class_name": "Aves"}
        for code in ("0042", "1139490", "grekis", "65448")
    ])  # fmt: skip
    write_csv(
        raw / "sample_submission.csv",
        pd.DataFrame(columns=["row_id", "0042", "1139490", "grekis", "65448"]),
    )
    for name in ("1139490/CSA36385.ogg", "grekis/iNat1.ogg", "0042/XC3.ogg"):
        write_tone(raw / "train_audio" / name)


def write_folders_only(raw: Path) -> None:
    for name in ("aaa/1.ogg", "aaa/2.ogg", "bbb/3.ogg"):
        write_tone(raw / "train_audio" / name)
    write_tone(raw / "train_audio/loose.ogg")  # no species folder: logged, ignored


def project_catalog(raw: Path, runtime_params: dict | None = None) -> DataCatalog:
    """The project's `conf/base` catalog with `raw_dir` pointing at `raw`."""
    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        base_env="base",
        default_run_env="base",
        runtime_params={"raw_dir": str(raw), **(runtime_params or {})},
    )
    return DataCatalog.from_config(loader["catalog"])


def read_layout(raw: Path, runtime_params: dict | None = None):
    """Run the metadata node and the class lists on a raw folder."""
    catalog = project_catalog(raw, runtime_params)
    taxonomy = catalog.load("taxonomy")
    submission = catalog.load("sample_submission")
    recordings, skips = validate_metadata_node(
        catalog.load("train_metadata"),
        catalog.load("train_audio"),
        taxonomy,
        submission,
        PARAMS,
    )
    pretrain, train, _ = build_class_lists(recordings, taxonomy, submission)
    return recordings, skips, pretrain, train


def test_layout_2021(tmp_path):
    write_2021(tmp_path)
    recordings, skips, pretrain, train = read_layout(
        tmp_path, {"train_audio_folder": "train_short_audio"}
    )
    # Bare names gain their species folder, so the shared name stays two recordings.
    assert recordings["recording_id"].tolist() == [
        "acafly/XC109605.ogg",
        "amecro/XC109605.ogg",
    ]
    assert recordings["rating"].tolist() == [2.5, 4.0]
    assert not len(skips)
    assert train == ["acafly", "amecro"]  # the long submission format names no species
    assert pretrain == ["acafly", "amecro"]


def test_layout_2022(tmp_path):
    write_2022(tmp_path)
    recordings, skips, pretrain, train = read_layout(tmp_path)
    # comwax is in no taxonomy here, so the drop rule removes it.
    assert recordings["secondary_labels"].tolist() == ["houspa", ""]
    assert recordings["dropped_secondary_labels"].tolist() == ["comwax", ""]
    assert not len(skips)
    assert train == ["afrsil1", "houspa"]


@pytest.mark.parametrize("year", [2023, 2024])
def test_layout_2023_2024(tmp_path, year):
    write_2023_2024(tmp_path)
    recordings, skips, pretrain, train = read_layout(tmp_path)
    assert recordings["rating"].tolist() == [4.0, 0.0]
    # grewar3 is a submission column, so it counts as known.
    assert recordings["secondary_labels"].tolist() == ["", "abethr1 grewar3"]
    assert train == ["yebapa1", "abethr1", "grewar3"]
    assert pretrain == ["abethr1", "grewar3", "yebapa1"]


def test_layout_2025_numeric_codes(tmp_path):
    write_2025(tmp_path)
    recordings, skips, pretrain, train = read_layout(tmp_path)
    assert recordings["primary_label"].tolist() == ["1139490", "grekis", "0042"]
    assert recordings["secondary_labels"].tolist() == ["", "1139490", ""]
    assert train == ["0042", "1139490", "grekis", "65448"]
    assert pretrain == ["0042", "1139490", "grekis"]
    assert all(isinstance(code, str) for code in [*train, *pretrain])


def test_layout_species_folders_only(tmp_path):
    write_folders_only(tmp_path)
    recordings, skips, pretrain, train = read_layout(tmp_path)
    assert recordings["recording_id"].tolist() == [
        "aaa/1.ogg",
        "aaa/2.ogg",
        "bbb/3.ogg",
    ]
    assert recordings["primary_label"].tolist() == ["aaa", "aaa", "bbb"]
    assert recordings["rating"].tolist() == [0.0, 0.0, 0.0]
    assert train == ["aaa", "bbb"]


def test_class_lists_round_trip_as_strings(tmp_path):
    """Numeric codes stay strings through the JSON class list and the CSV coverage."""
    write_2025(tmp_path)
    recordings, _, _, train = read_layout(tmp_path)
    classes = JSONReportDataset(str(tmp_path / "train_classes.json"))
    classes.save(train)
    assert classes.load() == ["0042", "1139490", "grekis", "65448"]
    _, _, coverage = build_class_lists(recordings, pd.DataFrame(), pd.DataFrame())
    table = CSVTableDataset(
        str(tmp_path / "class_coverage.csv"),
        load_args={"dtype": {"primary_label": str}, "keep_default_na": False},
    )
    table.save(coverage)
    assert table.load()["primary_label"].tolist() == ["0042", "1139490", "grekis"]
