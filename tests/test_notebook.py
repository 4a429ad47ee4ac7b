"""The exploration notebook runs headless on the demo data and draws its figures.

`demo_data` and `preprocess` run in a copy of the project's configuration under
a temporary folder. The notebook then executes there through nbclient, and
Kedro's IPython extension loads that copy's catalog.
"""

from __future__ import annotations

import os
import shutil

import nbformat
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from nbclient import NotebookClient

from tests.conftest import PROJECT_ROOT
from tests.project_copy import copy_project

NOTEBOOK = PROJECT_ROOT / "notebooks" / "explore_demo.ipynb"
# Per cell: the first cell loads Kedro and the pipelines, which took about
# 20 s on 2 loaded cores.
CELL_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[nbformat.NotebookNode, pd.DataFrame]:
    """The notebook after a headless run on freshly synthesised demo data, and
    the recordings table that `preprocess` wrote for it."""
    root = copy_project(tmp_path_factory.mktemp("notebook_project"))
    (root / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, root / "notebooks")

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        # The kernel is a subprocess: it must import this checkout's package.
        source = str(PROJECT_ROOT / "src")
        pythonpath = os.environ.get("PYTHONPATH")
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [source, pythonpath])))
        bootstrap_project(root)
        for pipeline_name in ("demo_data", "preprocess"):
            with KedroSession.create(project_path=root, env="demo") as session:
                session.run(pipeline_name=pipeline_name)

        notebook = nbformat.read(root / "notebooks" / NOTEBOOK.name, as_version=4)
        client = NotebookClient(
            notebook,
            timeout=CELL_TIMEOUT_S,
            kernel_name="python3",
            resources={"metadata": {"path": str(root / "notebooks")}},
        )
        client.execute()
    recordings = pd.read_csv(root / "data/03_primary/demo/recordings.csv")
    return notebook, recordings


@pytest.fixture(scope="module")
def executed_notebook(demo_run) -> nbformat.NotebookNode:
    return demo_run[0]


def _outputs(notebook: nbformat.NotebookNode, mime_type: str) -> list[str]:
    return [
        output["data"][mime_type]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if mime_type in output.get("data", {})
    ]


def test_notebook_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], "strip the outputs before committing"
            assert cell.execution_count is None


def test_notebook_draws_figures(executed_notebook):
    errors = [
        output
        for cell in executed_notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    ]
    assert errors == []
    # One grid of mel spectrograms and one soundscape figure.
    assert len(_outputs(executed_notebook, "image/png")) == 2


def test_notebook_plays_one_clip_per_class(demo_run):
    executed_notebook, recordings = demo_run
    audio_players = [
        html for html in _outputs(executed_notebook, "text/html") if "<audio" in html
    ]
    assert len(audio_players) == recordings["primary_label"].nunique()


def test_notebook_names_prediction_source(executed_notebook):
    markdown = "\n".join(_outputs(executed_notebook, "text/markdown"))
    # Nothing was trained, so the probabilities come from the untrained model.
    assert "probabilities from an untrained model" in markdown
