"""BirdCLEF metrics and validation folds on hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bird_pipeline.evaluation import (
    check_finite_probs,
    macro_roc_auc,
    padded_cmap,
    per_class_average_precision,
)
from bird_pipeline.evaluation.folds import TRAIN_ONLY, assign_folds


def test_padded_cmap_perfect_is_one():
    truth = np.array([[1, 0], [0, 1], [0, 0]])
    assert padded_cmap(truth, truth.astype(float)) == pytest.approx(1.0)


def test_padded_cmap_hand_computed():
    truth = np.array([[1, 0], [0, 0]])
    probs = np.array([[0.2, 0.9], [0.8, 0.1]])
    # Class 0 after padding: five positives at 1.0, a negative at 0.8, a positive
    # at 0.2, so AP = 5/6 * 1 + 1/6 * 6/7. Class 1: all positives rank first.
    expected = (5 / 6 + 1 / 7 + 1.0) / 2
    assert padded_cmap(truth, probs) == pytest.approx(expected)
    per_class = per_class_average_precision(truth, probs)
    assert per_class == pytest.approx([5 / 6 + 1 / 7, 1.0])


def test_macro_roc_auc_hand_computed():
    truth = np.array([[1, 0], [0, 0], [0, 0], [1, 0]])
    probs = np.array([[0.9, 0.5], [0.1, 0.5], [0.4, 0.5], [0.3, 0.5]])
    # Class 1 has no positive and is left out; class 0 ranks 3 of 4 pairs right.
    assert macro_roc_auc(truth, probs) == pytest.approx(0.75)


def test_macro_roc_auc_no_scorable_class_is_nan():
    assert np.isnan(macro_roc_auc(np.zeros((3, 2)), np.zeros((3, 2))))


def test_metric_shape_mismatch_raises():
    with pytest.raises(ValueError, match="must both be"):
        padded_cmap(np.zeros((3, 2)), np.zeros((3, 3)))


def test_non_finite_probability_named():
    probs = np.array([[0.1, 0.2], [0.3, np.nan]])
    with pytest.raises(FloatingPointError, match="window 'rec_10', class 'bbb'"):
        check_finite_probs(probs, ["rec_5", "rec_10"], ["aaa", "bbb"])


def make_recordings() -> pd.DataFrame:
    rows = []
    for label, count in (("aaa", 10), ("bbb", 10), ("rare", 2)):
        rows += [(f"{label}/{label}_{k}.ogg", label) for k in range(count)]
    rows.append(("aaa/shared.ogg", "aaa"))
    rows.append(("bbb/shared.ogg", "bbb"))
    return pd.DataFrame(rows, columns=["recording_id", "primary_label"])


def test_folds_stratified_and_complete():
    recordings = make_recordings()
    folds = assign_folds(recordings, n_folds=5, seed=0)
    common = recordings["primary_label"] != "rare"
    assert set(folds[common]) == {0, 1, 2, 3, 4}
    for fold in range(5):
        held_out = recordings[folds == fold]
        assert set(held_out["primary_label"]) == {"aaa", "bbb"}


def test_folds_rare_class_trains_everywhere():
    recordings = make_recordings()
    folds = assign_folds(recordings, n_folds=5, seed=0)
    assert (folds[recordings["primary_label"] == "rare"] == TRAIN_ONLY).all()


def test_folds_keep_shared_file_names_together():
    recordings = make_recordings()
    folds = assign_folds(recordings, n_folds=5, seed=0)
    shared = folds[recordings["recording_id"].str.endswith("/shared.ogg")]
    assert shared.nunique() == 1


def test_folds_too_few_recordings_raise():
    recordings = make_recordings().head(3)
    with pytest.raises(ValueError, match="lower validation.n_folds"):
        assign_folds(recordings, n_folds=5, seed=0)


def test_recording_windows_cap_and_ids():
    from bird_pipeline.evaluation.windows import recording_windows

    recordings = pd.DataFrame(
        {
            "recording_id": ["aaa/long.ogg", "bbb/short.ogg"],
            "duration_seconds": [90.0, 7.0],
        }
    )
    truth = np.array([[1, 0], [0, 1]], dtype=np.float32)
    windows = recording_windows(
        recordings, truth, max_seconds=60, window_seconds=5, sample_rate=10
    )
    assert len(windows) == 12 + 2
    assert windows.window_ids[11] == "aaa/long.ogg_60"
    assert windows.window_ids[-1] == "bbb/short.ogg_10"
    assert windows.starts[-1] == 50
    assert windows.truth[-1].tolist() == [0, 1]


def test_soundscape_windows_from_labels():
    from bird_pipeline.evaluation.windows import WindowDataset, soundscape_windows

    labels = pd.DataFrame(
        {
            "row_id": ["site_5", "site_10"],
            "soundscape_id": ["site", "site"],
            "start_second": ["0", "5"],
            "birds": ["aaa zzz", "nocall"],
        }
    )
    windows = soundscape_windows(labels, ["aaa", "bbb"], sample_rate=10)
    assert windows.truth.tolist() == [[1, 0], [0, 0]]
    assert windows.starts.tolist() == [0, 50]

    audio = {"site": np.arange(70, dtype=np.float32)}
    window, truth, index = WindowDataset(windows, audio, window_samples=50)[1]
    assert index == 1
    assert window[:20].tolist() == list(range(50, 70))
    assert window[20:].abs().max() == 0.0
    assert truth.tolist() == [0.0, 0.0]
