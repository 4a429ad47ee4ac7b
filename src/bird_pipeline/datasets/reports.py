"""Report datasets: JSON documents and CSV tables, written atomically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset

from bird_pipeline.datasets.atomic import atomic_write


class JSONReportDataset(AbstractDataset[dict, dict]):
    """A JSON document, indented for people to read.

    Args:
        filepath: The `.json` file.
    """

    def __init__(self, filepath: str) -> None:
        self._filepath = Path(filepath)

    def load(self) -> dict[str, Any]:
        return json.loads(self._filepath.read_text(encoding="utf-8"))

    def save(self, data: dict[str, Any]) -> None:
        text = json.dumps(data, indent=2, sort_keys=False, allow_nan=False)
        atomic_write(
            self._filepath,
            lambda temporary: temporary.write_text(text, encoding="utf-8"),
        )

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class CSVTableDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A `pandas.DataFrame` as CSV without the index.

    Args:
        filepath: The `.csv` file.
        load_args: Keyword arguments for `pandas.read_csv`. Raw metadata uses
            `dtype: str`, so species codes stay strings (BirdCLEF 2025 has
            numeric codes such as `1139490`).
        optional: Load a missing file as an empty table instead of failing, for
            files that BirdCLEF layouts may lack (`sample_submission.csv`).
        fallback_filepaths: Files to load, in order, when `filepath` is
            missing, for names that differ between BirdCLEF years (2025 names
            `train_metadata.csv` `train.csv`). Saving always writes `filepath`.
    """

    def __init__(
        self,
        filepath: str,
        load_args: dict[str, Any] | None = None,
        optional: bool = False,
        fallback_filepaths: list[str] | None = None,
    ) -> None:
        self._filepath = Path(filepath)
        self._load_args = dict(load_args or {})
        self._optional = optional
        self._fallbacks = [Path(path) for path in fallback_filepaths or []]

    def load(self) -> pd.DataFrame:
        candidates = [self._filepath, *self._fallbacks]
        existing = [path for path in candidates if path.is_file()]
        if not existing:
            if self._optional:
                return pd.DataFrame()
            raise FileNotFoundError(
                f"{' or '.join(map(str, candidates))} not found; for raw BirdCLEF "
                f"files set `raw_dir` to a BirdCLEF-format folder (kedro run "
                f"--params raw_dir=...), otherwise run the pipeline that writes "
                f"this file first"
            )
        return pd.read_csv(existing[0], **self._load_args)

    def save(self, data: pd.DataFrame) -> None:
        atomic_write(
            self._filepath, lambda temporary: data.to_csv(temporary, index=False)
        )

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "optional": self._optional,
            "fallback_filepaths": [str(path) for path in self._fallbacks],
        }
