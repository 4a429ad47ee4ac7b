"""Shared fixtures: tiny waveforms, a small preset and the real mini data set."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# No test may reach the network: telemetry off, model hubs offline.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# kedro-mlflow keeps its run, tracking URI and experiment in process-wide state,
# which leaks between the many Kedro sessions of one test process. Its hooks are
# off in tests; tests of the MLflow logging open their own runs.
os.environ["BIRD_PIPELINE_MLFLOW"] = "0"

from bird_pipeline.models.presets import ModelPreset  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEST_DATA = PROJECT_ROOT.parent / "shared" / "data" / "birdclef_mini"
SAMPLE_RATE = 32000


@pytest.fixture(scope="session")
def mini_data_dir() -> Path:
    """The real BirdCLEF-format mini set, from BIRD_PIPELINE_TEST_DATA.

    Skips when it is missing, unless BIRD_PIPELINE_REQUIRE_TEST_DATA is set (as
    in CI), where a missing set fails the test.
    """
    path = Path(os.environ.get("BIRD_PIPELINE_TEST_DATA", DEFAULT_TEST_DATA))
    if not (path / "train_metadata.csv").is_file():
        message = (
            f"real recordings not found at {path}; set BIRD_PIPELINE_TEST_DATA to "
            f"the birdclef_mini folder"
        )
        if os.environ.get("BIRD_PIPELINE_REQUIRE_TEST_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def noise_waveforms() -> np.ndarray:
    """Three seeded 5 s white-noise waveforms `(3, 160000)` at 32 kHz."""
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((3, 5 * SAMPLE_RATE))).astype(np.float32)


@pytest.fixture
def small_preset() -> ModelPreset:
    """A fast CNN preset on a tiny timm encoder, for unit tests."""
    return ModelPreset(
        name="test_cnn",
        head="cnn",
        encoder="resnet10t",
        sample_rate=SAMPLE_RATE,
        segment_seconds=5.0,
        n_fft=1024,
        hop_length=640,
        n_mels=64,
        f_min=50.0,
        f_max=14000.0,
        top_db=80.0,
        use_deltas=False,
        drop_rate=0.2,
        drop_path_rate=0.0,
        shift_seconds=0.0,
    )


@pytest.fixture(autouse=True)
def _no_mlflow_run_left_open():
    """End any MLflow run a test left open, so the next test starts clean."""
    yield
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()
