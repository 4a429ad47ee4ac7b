"""A throwaway copy of the project's configuration, for tests that run Kedro."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import PROJECT_ROOT


def copy_project(root: Path) -> Path:
    """Copy `pyproject.toml`, `.telemetry` and `conf/` into `root`.

    The copy reads and writes its own `data/`, so the repository's stays
    untouched. The package itself is imported from the installed (or
    `PYTHONPATH`) source, so `src/` stays empty.
    """
    shutil.copy(PROJECT_ROOT / "pyproject.toml", root)
    shutil.copy(PROJECT_ROOT / ".telemetry", root)
    shutil.copytree(PROJECT_ROOT / "conf", root / "conf")
    (root / "src").mkdir()
    return root
