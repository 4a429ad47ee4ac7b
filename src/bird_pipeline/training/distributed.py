"""Run one training stage under DDP in a subprocess that Lightning can relaunch.

`run_distributed` writes the stage's node inputs to a temporary folder and
starts `python -m bird_pipeline.training.distributed <folder>`. Lightning's DDP
launcher starts the other ranks by running that same command again (with
`LOCAL_RANK` set), so each rank loads the inputs and joins `trainer.fit`. Rank
0 writes the results, and the node reads them back. Multi-node runs need
`MASTER_ADDR`, `MASTER_PORT` and `NODE_RANK` in the environment of every node,
as Lightning documents for a cluster.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)

INPUTS = "inputs.pt"
RESULTS = "results.pt"


def run_distributed(arguments: tuple[Any, ...]) -> tuple[dict, dict, dict]:
    """Train `train_stage_local(*arguments)` under DDP; return rank 0's results.

    Raises:
        RuntimeError: The subprocess failed or wrote no results.
    """
    with tempfile.TemporaryDirectory(prefix="bird_pipeline_ddp_") as folder:
        # Node inputs are DataFrames, memory-mapped caches and dicts of
        # tensors, so they pickle; nothing here loads untrusted files.
        torch.save(arguments, Path(folder) / INPUTS)
        command = [sys.executable, "-m", "bird_pipeline.training.distributed", folder]
        logger.info("Launching DDP training: %s", " ".join(command))
        completed = subprocess.run(command, check=False)
        results = Path(folder) / RESULTS
        if completed.returncode != 0 or not results.exists():
            raise RuntimeError(
                f"DDP training failed with exit code {completed.returncode}; its "
                f"output above names the cause"
            )
        return torch.load(results, weights_only=True)


def main(folder: str) -> None:
    """Load the inputs, train this rank, and write results from rank 0."""
    from bird_pipeline.pipelines.stage.nodes import train_stage_local

    logging.basicConfig(level=logging.INFO)
    arguments = torch.load(Path(folder) / INPUTS, weights_only=False)
    results = train_stage_local(*arguments)
    # Lightning sets LOCAL_RANK and NODE_RANK for every rank it launches.
    is_global_zero = os.environ.get("LOCAL_RANK", "0") == "0" and (
        os.environ.get("NODE_RANK", "0") == "0"
    )
    if is_global_zero:
        torch.save(results, Path(folder) / RESULTS)


if __name__ == "__main__":
    main(sys.argv[1])
