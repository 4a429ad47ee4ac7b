"""Pseudo-labels: crop targets scaled by window predictions, hand labels, thresholds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bird_pipeline.pipelines.pseudo_label.nodes import (
    apply_hand_labels,
    class_thresholds,
)
from bird_pipeline.training.pseudo import build_pseudo_labels

CLASSES = ["aaa", "bbb", "ccc"]
WINDOW = 10  # samples per window in these tests


def predictions() -> pd.DataFrame:
    """Recording r1 has three windows: aaa heard only in window 1."""
    return pd.DataFrame(
        {
            "recording_id": ["r1", "r1", "r1", "s1"],
            "source": ["recording", "recording", "recording", "soundscape"],
            "window": [0, 1, 2, 0],
            "start_second": [0.0, 5.0, 10.0, 0.0],
            "aaa": [0.05, 0.9, 0.2, 0.5],
            "bbb": [0.1, 0.1, 0.1, 0.5],
        }
    )


THRESHOLDS = pd.DataFrame({"class": ["aaa", "bbb"], "threshold": [0.4, 0.2]})


def pseudo(mode: str = "factor", min_factor: float = 0.1):
    return build_pseudo_labels(
        predictions(), THRESHOLDS, CLASSES, WINDOW, mode, min_factor
    )


def test_confident_window_keeps_label():
    targets = np.array([1.0, 0.0, 0.0], np.float32)
    adjusted = pseudo().adjust("r1", targets, start=10, clip_samples=10)
    np.testing.assert_array_equal(adjusted, targets)


def test_quiet_window_scaled_by_threshold():
    targets = np.array([1.0, 0.9, 0.0], np.float32)
    adjusted = pseudo().adjust("r1", targets, start=20, clip_samples=10)
    assert adjusted[0] == pytest.approx(0.2 / 0.4)
    assert adjusted[1] == pytest.approx(0.9 * 0.1 / 0.2)
    assert adjusted[2] == 0.0


def test_crop_takes_max_over_covered_windows():
    targets = np.array([1.0, 0.0, 0.0], np.float32)
    # Samples 5..14 cover windows 0 and 1; window 1 hears the bird.
    adjusted = pseudo().adjust("r1", targets, start=5, clip_samples=10)
    assert adjusted[0] == pytest.approx(1.0)


def test_factor_floor_and_soft_mode():
    targets = np.array([1.0, 0.0, 0.0], np.float32)
    floored = pseudo(min_factor=0.5).adjust("r1", targets, start=0, clip_samples=10)
    assert floored[0] == pytest.approx(0.5)
    soft = pseudo(mode="soft").adjust("r1", targets, start=20, clip_samples=10)
    assert soft[0] == pytest.approx(0.2)


def test_unpredicted_class_and_recording_unchanged():
    targets = np.array([0.0, 0.0, 1.0], np.float32)  # ccc has no predictions
    np.testing.assert_array_equal(
        pseudo().adjust("r1", targets, start=0, clip_samples=10), targets
    )
    np.testing.assert_array_equal(
        pseudo().adjust("other", targets, start=0, clip_samples=10), targets
    )


def test_soundscape_rows_not_used_for_crops():
    assert set(pseudo().probs) == {"r1"}


def test_empty_pseudo_labels_name_the_pipeline():
    with pytest.raises(ValueError, match="--pipelines pseudo_label"):
        build_pseudo_labels(pd.DataFrame(), THRESHOLDS, CLASSES, WINDOW, "factor", 0.1)


@pytest.mark.parametrize(
    ("mode", "min_factor", "message"),
    [("hard", 0.1, "pseudo_mode"), ("factor", 0.0, "pseudo_min_factor")],
)
def test_invalid_settings_raise(mode, min_factor, message):
    with pytest.raises(ValueError, match=message):
        pseudo(mode, min_factor)


def test_non_finite_predictions_raise():
    broken = predictions()
    broken.loc[0, "aaa"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        build_pseudo_labels(broken, THRESHOLDS, CLASSES, WINDOW, "factor", 0.1)


def test_hand_labels_override_predictions():
    hand = pd.DataFrame(
        {
            "recording_id": ["r1", "r1"],
            "start_second": ["0", "5"],
            "labels": ["bbb", ""],
        }
    )
    out = apply_hand_labels(predictions(), hand)
    assert out.loc[0, "aaa"] == 0.0
    assert out.loc[0, "bbb"] == 1.0
    assert out.loc[1, "aaa"] == 0.0
    assert out.loc[1, "bbb"] == 0.0
    # Windows without hand labels keep their predictions.
    assert out.loc[2, "aaa"] == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("hand", "message"),
    [
        (
            {"recording_id": ["r1"], "start_second": ["2.5"], "labels": [""]},
            "no prediction",
        ),
        ({"recording_id": ["r1"], "start_second": ["0"], "labels": ["zzz"]}, "zzz"),
        ({"recording_id": ["r1"], "start_second": ["0"]}, "lacks columns"),
    ],
)
def test_hand_labels_reject_bad_rows(hand, message):
    with pytest.raises(ValueError, match=message):
        apply_hand_labels(predictions(), pd.DataFrame(hand))


def test_thresholds_are_class_quantiles():
    recordings = pd.DataFrame({"recording_id": ["r1"], "primary_label": ["aaa"]})
    thresholds = class_thresholds(
        predictions(), recordings, {"threshold_quantile": 0.5}
    )
    assert list(thresholds["class"]) == ["aaa"]
    assert thresholds.loc[0, "threshold"] == pytest.approx(0.2)
    assert thresholds.loc[0, "windows"] == 3
    with pytest.raises(ValueError, match="threshold_quantile"):
        class_thresholds(predictions(), recordings, {"threshold_quantile": 1.5})
