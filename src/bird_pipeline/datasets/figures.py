"""A matplotlib figure saved as PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
from kedro.io import AbstractDataset
from matplotlib.figure import Figure

from bird_pipeline.datasets.atomic import atomic_write


class FigureDataset(AbstractDataset[Figure, bytes]):
    """Write a figure to a PNG file; loading returns the PNG bytes.

    Args:
        filepath: The `.png` file.
        dpi: Resolution of the PNG.
    """

    def __init__(self, filepath: str, dpi: int = 100) -> None:
        self._filepath = Path(filepath)
        self._dpi = dpi

    def load(self) -> bytes:
        return self._filepath.read_bytes()

    def save(self, data: Figure) -> None:
        atomic_write(
            self._filepath,
            lambda temporary: data.savefig(temporary, format="png", dpi=self._dpi),
        )
        plt.close(data)

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "dpi": self._dpi}
