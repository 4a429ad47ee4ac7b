"""Validation of the `demo_data` parameters."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bird_pipeline.pipelines.demo_data.calls import MIN_SAMPLE_RATE

logger = logging.getLogger(__name__)

MAX_SPECIES = 20


def _require_number(
    params: Mapping, key: str, low: float, high: float, integer: bool
) -> float:
    if key not in params:
        raise ValueError(
            f"demo_data parameter '{key}' is missing; add it under demo_data in "
            f"the parameters file"
        )
    value = params[key]
    kind = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        expected = "an integer" if integer else "a number"
        raise ValueError(
            f"demo_data.{key} must be {expected}, got {value!r}; write a plain "
            f"number between {low} and {high}"
        )
    if not low <= value <= high:
        raise ValueError(
            f"invalid demo_data.{key}={value!r}: it must be between {low} and "
            f"{high}; set it in that range"
        )
    return value


def _validate_recording_seconds(value: object) -> tuple[float, float]:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 2
        or not all(
            isinstance(item, (int, float)) and not isinstance(item, bool)
            for item in value
        )
    ):
        raise ValueError(
            f"demo_data.recording_seconds must be [min, max] in seconds, got "
            f"{value!r}; write it as e.g. [6.0, 14.0]"
        )
    shortest, longest = float(value[0]), float(value[1])
    if not 3.0 <= shortest <= longest <= 120.0:
        raise ValueError(
            f"invalid demo_data.recording_seconds={list(value)}: need "
            f"3.0 <= min <= max <= 120.0 seconds so that every recording holds a "
            f"whole call"
        )
    return shortest, longest


PARAM_KEYS = (
    "seed",
    "sample_rate",
    "species",
    "recordings_per_species",
    "recording_seconds",
    "soundscapes",
    "soundscape_seconds",
    "noise_files",
    "noise_seconds",
    "snr_db",
    "secondary_fraction",
)


def validate_params(params: Mapping) -> dict:
    """Check every `demo_data` parameter and return them with plain types.

    Unknown keys are logged as a warning and ignored.

    Raises:
        ValueError: A key is missing, has the wrong type or is out of range.
    """
    unknown = sorted(set(params) - set(PARAM_KEYS))
    if unknown:
        logger.warning(
            "Ignoring unknown demo_data parameters %s; the known ones are %s",
            unknown,
            list(PARAM_KEYS),
        )

    checked = {
        "seed": int(_require_number(params, "seed", 0, 2**63 - 1, integer=True)),
        "sample_rate": int(
            _require_number(params, "sample_rate", MIN_SAMPLE_RATE, 96000, integer=True)
        ),
        "species": int(
            _require_number(params, "species", 1, MAX_SPECIES, integer=True)
        ),
        "recordings_per_species": int(
            _require_number(params, "recordings_per_species", 1, 200, integer=True)
        ),
        "soundscapes": int(_require_number(params, "soundscapes", 0, 50, integer=True)),
        "soundscape_seconds": float(
            _require_number(params, "soundscape_seconds", 5.0, 600.0, integer=False)
        ),
        "noise_files": int(_require_number(params, "noise_files", 0, 50, integer=True)),
        "noise_seconds": float(
            _require_number(params, "noise_seconds", 1.0, 600.0, integer=False)
        ),
        "snr_db": float(_require_number(params, "snr_db", -10.0, 40.0, integer=False)),
        "secondary_fraction": float(
            _require_number(params, "secondary_fraction", 0.0, 1.0, integer=False)
        ),
    }
    if "recording_seconds" not in params:
        raise ValueError(
            "demo_data parameter 'recording_seconds' is missing; add it under "
            "demo_data in the parameters file, e.g. [6.0, 14.0]"
        )
    checked["recording_seconds"] = _validate_recording_seconds(
        params["recording_seconds"]
    )

    if checked["species"] == 1 and checked["secondary_fraction"] > 0:
        raise ValueError(
            f"demo_data.secondary_fraction={checked['secondary_fraction']} needs "
            f"at least 2 species, but species=1; raise species or set "
            f"secondary_fraction to 0"
        )
    return checked
