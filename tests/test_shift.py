"""Test-time shift averaging: shifted windows and their averaged probabilities."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from bird_pipeline.audio.windows import read_window, split_shifted_windows
from bird_pipeline.evaluation.windows import WindowDataset, recording_windows
from bird_pipeline.inference.runtime import sigmoid
from bird_pipeline.inference.shift import (
    shift_averaged_probs,
    shifted_windows,
    with_context,
)
from bird_pipeline.models import build_classifier
from bird_pipeline.training.config import StageConfig
from bird_pipeline.training.module import StageModule
from bird_pipeline.training.validation import ValidationSet
from tests.test_nodes import TRAINING


def test_read_window_zero_fills_edges():
    waveform = np.arange(1, 11, dtype=np.float32)
    np.testing.assert_array_equal(read_window(waveform, -2, 4), [0, 0, 1, 2])
    np.testing.assert_array_equal(read_window(waveform, 8, 4), [9, 10, 0, 0])
    np.testing.assert_array_equal(read_window(waveform, 3, 4), [4, 5, 6, 7])
    np.testing.assert_array_equal(read_window(waveform, 20, 3), [0, 0, 0])


def test_split_shifted_windows_offsets():
    waveform = np.arange(1, 13, dtype=np.float32)  # 3 windows of 4
    windows = split_shifted_windows(waveform, window_samples=4, shift_samples=1)
    assert windows.shape == (3, 3, 4)
    np.testing.assert_array_equal(windows[0, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(windows[0, 1], [1, 2, 3, 4])
    np.testing.assert_array_equal(windows[0, 2], [2, 3, 4, 5])
    np.testing.assert_array_equal(windows[2, 2], [10, 11, 12, 0])


def test_split_without_shift_is_one_pass():
    waveform = np.arange(10, dtype=np.float32)
    windows = split_shifted_windows(waveform, window_samples=4, shift_samples=0)
    assert windows.shape == (3, 1, 4)
    np.testing.assert_array_equal(windows[2, 0], [8, 9, 0, 0])


def test_window_dataset_returns_shifted_stack():
    recordings = pd.DataFrame({"recording_id": ["a"], "duration_seconds": [2.0]})
    windows = recording_windows(recordings, np.ones((1, 1)), 60.0, 1.0, 4)
    audio = {"a": np.arange(1, 9, dtype=np.float32)}
    window, _, index = WindowDataset(windows, audio, 4, shift_samples=2)[1]
    assert index == 1
    assert window.shape == (3, 4)
    np.testing.assert_array_equal(window.numpy()[0], [3, 4, 5, 6])
    np.testing.assert_array_equal(window.numpy()[2], [7, 8, 0, 0])
    plain, _, _ = WindowDataset(windows, audio, 4)[1]
    assert plain.shape == (4,)


def test_validation_averages_shifted_probs(small_preset):
    preset = dataclasses.replace(small_preset, shift_seconds=1.0)
    model = build_classifier(preset, num_classes=2).eval()
    config = StageConfig.from_params(
        {**TRAINING, "name": "train_bce", "loss": "bce", "epochs": 1, "lr": 1e-3}
        | {"seed": 0, "reinit_head": False, "freeze_backbone": False}
    )
    recordings = pd.DataFrame({"recording_id": ["a"], "duration_seconds": [10.0]})
    windows = recording_windows(recordings, np.array([[1.0, 0.0]]), 60.0, 5.0, 32000)
    audio = {
        "a": (0.1 * np.random.default_rng(0).standard_normal(320000)).astype(np.float32)
    }
    module = StageModule(
        model, config, ["x", "y"], [ValidationSet("val", windows, audio)]
    )
    dataset = WindowDataset(
        windows, audio, preset.segment_samples, preset.shift_samples
    )
    stacked = torch.stack([dataset[i][0] for i in range(len(dataset))])
    module.on_validation_epoch_start()
    with torch.inference_mode():
        module.validation_step((stacked, None, torch.arange(2)), 0)
        expected = torch.sigmoid(model(stacked.flatten(0, 1))).reshape(2, 3, 2).mean(1)
    _, probs = module._validation_outputs[0][0]
    torch.testing.assert_close(probs, expected)


def _blocks(waveform: np.ndarray, window_samples: int, per_block: int):
    windows = split_shifted_windows(waveform, window_samples, 0)[:, 0]
    for start in range(0, len(windows), per_block):
        yield windows[start : start + per_block]


@pytest.mark.parametrize("per_block", [1, 2, 5])
def test_streamed_shifts_equal_whole_recording(per_block):
    waveform = np.arange(1, 24, dtype=np.float32)  # 6 windows of 4, last partial
    expected = split_shifted_windows(waveform, window_samples=4, shift_samples=2)
    streamed = [
        shifted_windows(extended, len(windows), 4, context_samples=3, shift_samples=2)
        for windows, extended in with_context(_blocks(waveform, 4, per_block), 3)
    ]
    np.testing.assert_array_equal(np.concatenate(streamed), expected)


def test_with_context_rejects_context_over_window():
    blocks = _blocks(np.ones(8, dtype=np.float32), 4, 1)
    with pytest.raises(ValueError, match="context of 5 samples"):
        next(with_context(blocks, 5))


def test_shifted_windows_need_enough_context():
    with pytest.raises(ValueError, match="shift of 2 samples"):
        shifted_windows(np.zeros(10, dtype=np.float32), 1, 4, 1, 2)


def test_shift_averaged_probs_mean_of_shifts():
    waveform = np.arange(1, 13, dtype=np.float32)
    windows, extended = next(with_context(_blocks(waveform, 4, 3), 1))

    def infer(batch: np.ndarray) -> np.ndarray:
        return batch[:, :2] / 10.0  # two "classes": the first two samples

    probs = shift_averaged_probs(infer, windows, extended, 1, 1)
    shifted = split_shifted_windows(waveform, 4, 1)
    expected = sigmoid(shifted[:, :, :2] / 10.0).mean(axis=1)
    np.testing.assert_allclose(probs, expected, rtol=1e-6)
    unshifted = shift_averaged_probs(infer, windows, extended, 1, 0)
    np.testing.assert_allclose(unshifted, sigmoid(windows[:, :2] / 10.0))
