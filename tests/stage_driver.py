"""Run one training stage in its own process, to be killed by a test.

Usage: `python -m tests.stage_driver ARGS.pkl MARKER`. `ARGS.pkl` contains the
positional arguments of `tests.test_nodes.run_stage`. In the second batch of
the second epoch the stage creates `MARKER` and waits, so the test can send
SIGKILL at a known point in the middle of an epoch.
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

from bird_pipeline.pipelines.stage import nodes as stage_nodes
from bird_pipeline.training.module import StageModule
from tests.test_nodes import run_stage

WAIT_SECONDS = 600  # far longer than the test waits before its kill


def main() -> None:
    args_path, marker = Path(sys.argv[1]), Path(sys.argv[2])

    class WaitingModule(StageModule):
        def training_step(self, batch, batch_idx):
            if self.current_epoch == 1 and batch_idx == 1:
                marker.touch()
                time.sleep(WAIT_SECONDS)
            return super().training_step(batch, batch_idx)

    stage_nodes.StageModule = WaitingModule
    with args_path.open("rb") as handle:
        run_stage(*pickle.load(handle))


if __name__ == "__main__":
    main()
