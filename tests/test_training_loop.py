"""Training-loop parts: loader randomness, the schedule, background-noise input."""

from __future__ import annotations

import logging

import lightning as L
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from bird_pipeline.datasets import AudioFolderDataset
from bird_pipeline.models import build_classifier
from bird_pipeline.pipelines.preprocess.noise import decode_background_noise
from bird_pipeline.pipelines.stage.nodes import _augment_config, _training_loader
from bird_pipeline.training.config import StageConfig
from bird_pipeline.training.module import StageModule
from tests.test_nodes import TRAINING

SAMPLE_RATE = 32000
STAGE = {
    "name": "train_bce",
    "loss": "bce",
    "epochs": 6,
    "lr": 1e-3,
    "seed": 7,
    "reinit_head": False,
    "freeze_backbone": False,
}


def stage_config(**overrides) -> StageConfig:
    return StageConfig.from_params({**TRAINING, **STAGE, **overrides})


def crop_starts(seed: int, small_preset, epochs: int = 2) -> list[list[list[int]]]:
    """Return the crop start of every clip, per epoch and per worker.

    The only recording is a ramp (sample i contains the value i), so a clip's first
    sample is its start offset.
    """
    recordings = pd.DataFrame(
        {
            "recording_id": ["ramp"],
            "primary_label": ["x"],
            "secondary_labels": [""],
            "rating": ["5"],
        }
    )
    audio = {"ramp": np.arange(SAMPLE_RATE * 60, dtype=np.float32)}
    config = stage_config(
        num_workers=2, batch_size=1, augment=None, weighted_sampler=False
    )
    L.seed_everything(seed, workers=True)
    recordings = pd.concat([recordings] * 8, ignore_index=True)
    loader = _training_loader(
        recordings, np.ones((8, 1), np.float32), audio, {}, ["x"], config, small_preset
    )
    per_epoch = []
    for _ in range(epochs):
        # With batch_size 1 and 2 workers, batches alternate between workers.
        starts = [int(waveform[0, 0]) for waveform, _, _ in loader]
        per_epoch.append([starts[0::2], starts[1::2]])
    return per_epoch


def test_loader_workers_and_epochs_draw_differently(small_preset):
    first = crop_starts(3, small_preset)
    (epoch0_worker0, epoch0_worker1), (epoch1_worker0, _) = first
    assert len(epoch0_worker0) == 4
    assert epoch0_worker0 != epoch0_worker1
    assert epoch0_worker0 != epoch1_worker0
    assert len(set(epoch0_worker0 + epoch0_worker1)) == 8


def test_loader_same_seed_same_crops(small_preset):
    assert crop_starts(3, small_preset) == crop_starts(3, small_preset)
    assert crop_starts(3, small_preset) != crop_starts(4, small_preset)


def test_cosine_schedule_restarts(small_preset):
    config = stage_config(restart_epochs=2, restart_mult=2, lr=1.0, min_lr=0.0)
    module = StageModule(build_classifier(small_preset, 2), config, ["x", "y"])
    scheduler = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(7):
        rates.append(scheduler.get_last_lr()[0])
        scheduler.step()
    # Cycles of 2, then 4 epochs: restarts at epochs 2 and 6.
    assert rates[0] == pytest.approx(1.0)
    assert rates[1] == pytest.approx(0.5)
    assert rates[2] == pytest.approx(1.0)
    assert rates[4] == pytest.approx(0.5)
    assert rates[6] == pytest.approx(1.0)


def test_one_cycle_per_stage_by_default(small_preset):
    config = stage_config(lr=1.0, min_lr=0.0)
    assert config.restart_epochs is None
    module = StageModule(build_classifier(small_preset, 2), config, ["x", "y"])
    scheduler = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    rates = []
    for _ in range(config.epochs):
        rates.append(scheduler.get_last_lr()[0])
        scheduler.step()
    assert rates == sorted(rates, reverse=True)
    assert rates[3] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"restart_epochs": 0}, "restart_epochs must be 1 or more"),
        ({"restart_mult": 0}, "restart_mult must be 1 or more"),
        ({"spec_mixup_prob": 2.0}, "spec_mixup_prob must be in"),
    ],
)
def test_stage_config_rejects(override, message):
    with pytest.raises(ValueError, match=message):
        stage_config(**override)


def test_background_noise_decoded_and_bad_file_skipped(tmp_path, caplog):
    folder = tmp_path / "background_noise"
    folder.mkdir()
    stereo = np.random.default_rng(0).standard_normal((44100, 2)) * 0.1
    sf.write(folder / "rain.ogg", stereo, 44100)
    (folder / "broken.ogg").write_bytes(b"not audio at all")
    loaders = AudioFolderDataset(str(folder)).load()
    with caplog.at_level(logging.WARNING):
        noise = decode_background_noise(loaders, {"sample_rate": SAMPLE_RATE})
    assert list(noise) == ["rain"]
    assert noise["rain"].ndim == 1
    assert len(noise["rain"]) == SAMPLE_RATE
    assert "broken.ogg" in caplog.text


def test_missing_noise_folder_gives_empty_bank(tmp_path):
    loaders = AudioFolderDataset(str(tmp_path / "absent")).load()
    assert decode_background_noise(loaders, {"sample_rate": SAMPLE_RATE}) == {}


def test_stage_warns_when_no_noise_to_mix(caplog):
    config = stage_config()
    assert config.augment["background_noise_prob"] > 0
    with caplog.at_level(logging.WARNING):
        augment = _augment_config(config, {})
    assert augment is not None
    assert "background-noise mixing is off" in caplog.text
