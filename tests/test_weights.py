"""Sampling and loss weights of training recordings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bird_pipeline.training.weights import check_weights, loss_weights, sampling_weights


def make_recordings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "primary_label": ["aaa", "aaa", "bbb", "other", "other"],
            "secondary_labels": ["", "bbb", "", "aaa bbb", ""],
            "rating": [5.0, 2.5, 0.0, float("nan"), 0.2],
        }
    )


def test_sampling_weights_inverse_class_count():
    weights = sampling_weights(make_recordings(), ["aaa", "bbb"])
    # Counts: aaa = 2 primary + 0.5 secondary; bbb = 1 + 0.5 + 0.5.
    assert weights[0] == pytest.approx(1 / 2.5)
    assert weights[1] == pytest.approx(1 / 2.5)
    assert weights[2] == pytest.approx(1 / 2.0)
    # Primary outside the classes: mean over in-class secondary labels.
    assert weights[3] == pytest.approx((1 / 2.5 + 1 / 2.0) / 2)
    assert weights[4] == 0.0


def test_sampling_weights_all_zero_raise():
    with pytest.raises(ValueError, match="every weight is zero"):
        sampling_weights(make_recordings(), ["zzz"])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.array([1.0, np.nan]), "NaN or infinite"),
        (np.array([1.0, -0.5]), "must not be negative"),
        (np.array([0.0, 0.0]), "every weight is zero"),
        (np.array([]), "no weights"),
    ],
)
def test_check_weights_rejects(weights, message):
    with pytest.raises(ValueError, match=message):
        check_weights(weights, "test")


def test_loss_weights_rating_rules():
    weights = loss_weights(
        make_recordings(),
        ["aaa", "bbb"],
        min_rating_weight=0.1,
        unrated_weight=1.0,
        non_target_weight=0.8,
    )
    assert weights.dtype == np.float32
    assert weights[0] == pytest.approx(1.0)
    assert weights[1] == pytest.approx(0.5)
    assert weights[2] == pytest.approx(1.0)  # rating 0 means unrated
    assert weights[3] == pytest.approx(0.8)  # unrated and not a target species
    assert weights[4] == pytest.approx(0.1 * 0.8)  # 0.2 / 5 clipped up to 0.1
    assert np.isfinite(weights).all()
