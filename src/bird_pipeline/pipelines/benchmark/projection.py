"""Projections of a measured real-time factor onto BirdCLEF hidden test sets."""

from __future__ import annotations

from typing import Any


def project(
    real_time_factor: float, audio_minutes: float, budget_minutes: float
) -> dict[str, float | bool]:
    """Project processing minutes for `audio_minutes` of audio against a budget."""
    projected = real_time_factor * audio_minutes
    return {
        "audio_minutes": audio_minutes,
        "projected_minutes": projected,
        "budget_minutes": budget_minutes,
        "within_budget": projected <= budget_minutes,
    }


def project_test_sets(
    real_time_factor: float, test_sets: dict[str, dict[str, Any]], custom: dict
) -> dict[str, dict[str, Any]]:
    """Project one real-time factor onto every configured test set and the custom one.

    Args:
        real_time_factor: Processing seconds per audio second, decoding included.
        test_sets: `{name: {"audio_minutes", "budget_minutes", "source"}}`.
        custom: `{"audio_minutes", "budget_minutes"}` set by the user.
    """
    projections = {
        name: {
            **project(
                real_time_factor,
                float(spec["audio_minutes"]),
                float(spec["budget_minutes"]),
            ),
            "source": spec["source"],
        }
        for name, spec in test_sets.items()
    }
    projections["custom"] = {
        **project(
            real_time_factor,
            float(custom["audio_minutes"]),
            float(custom["budget_minutes"]),
        ),
        "source": "benchmark.projection.custom",
    }
    return projections
