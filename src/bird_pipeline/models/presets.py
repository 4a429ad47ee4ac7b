"""Backbone presets: which timm encoder, which head and which mel settings.

The preset table itself lives in `conf/base/parameters.yml` under `presets`; this
module turns one entry into a validated, frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

HEADS = ("cnn", "sed")


@dataclass(frozen=True)
class ModelPreset:
    """One backbone recipe, named like `cnn_b0ns` or `sed_v2s`."""

    name: str
    head: str  # "cnn": GeM + linear; "sed": attention head with frame-wise outputs
    encoder: str  # timm model name, with or without a pretrained tag
    sample_rate: int  # Hz of the waveform the model takes
    segment_seconds: float  # encoder input length; longer clips pass as several parts
    n_fft: int
    hop_length: int  # samples between STFT frames
    n_mels: int
    f_min: float  # Hz
    f_max: float  # Hz
    top_db: float  # dB kept below each window's peak before rescaling to [0, 1]
    use_deltas: bool  # add delta and delta-delta channels (3 input channels)
    drop_rate: float  # dropout before the classifier
    drop_path_rate: float  # stochastic depth inside the encoder
    # Test-time shift in seconds: each 5 s window is also predicted shifted
    # earlier and later by this much, and the three probabilities averaged.
    # The BirdCLEF 2023 second-place recipe used it for its SED models; 0 is off.
    shift_seconds: float
    # CNN heads: dropout masks averaged in training (multi-sample dropout). The
    # default keeps checkpoints written before this field loadable.
    dropout_samples: int = 1

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(
                f"preset {self.name!r}: unknown head {self.head!r}; "
                f"choose one of {HEADS}"
            )
        if self.dropout_samples < 1 or (
            self.head == "sed" and self.dropout_samples > 1
        ):
            raise ValueError(
                f"preset {self.name!r}: dropout_samples must be 1 or more, and 1 "
                f"for SED heads, got {self.dropout_samples}"
            )
        if not 0.0 <= self.shift_seconds < self.segment_seconds:
            raise ValueError(
                f"preset {self.name!r}: shift_seconds must be in [0, "
                f"{self.segment_seconds}), got {self.shift_seconds}"
            )
        if self.segment_seconds <= 0 or self.sample_rate <= 0:
            raise ValueError(
                f"preset {self.name!r}: segment_seconds and sample_rate must be "
                f"positive, got {self.segment_seconds} and {self.sample_rate}"
            )

    @property
    def segment_samples(self) -> int:
        """Samples in one encoder segment."""
        return round(self.segment_seconds * self.sample_rate)

    @property
    def shift_samples(self) -> int:
        """Samples of the test-time shift (0: one pass per window)."""
        return round(self.shift_seconds * self.sample_rate)


def resolve_preset(name: str, presets: dict[str, dict[str, Any]]) -> ModelPreset:
    """Look up a preset by name in the `presets` parameter table.

    Args:
        name: Preset name, for example `cnn_b0ns`.
        presets: The `presets` parameter block.

    Returns:
        The validated preset.

    Raises:
        KeyError: `name` is not in the table.
        ValueError: An entry has missing or unknown fields.
    """
    if name not in presets:
        raise KeyError(
            f"unknown model preset {name!r}; choose one of {sorted(presets)} "
            f"(set it with `kedro run --params model=<preset>`)"
        )
    entry = dict(presets[name])
    expected = {field.name for field in fields(ModelPreset)} - {"name"}
    missing = expected - set(entry)
    unknown = set(entry) - expected
    if missing or unknown:
        raise ValueError(
            f"preset {name!r} in parameters.yml: missing fields {sorted(missing)}, "
            f"unknown fields {sorted(unknown)}"
        )
    return ModelPreset(name=name, **entry)
