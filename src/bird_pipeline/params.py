"""Checks shared by the dataclasses that parameter blocks are read into."""

from __future__ import annotations

from dataclasses import fields
from typing import Any


def check_keys(config_class: type, params: dict[str, Any], block: str) -> None:
    """Raise when `params` lacks a field of `config_class` or has an unknown key.

    Raises:
        ValueError: Names the missing and unknown keys and the file to compare.
    """
    expected = {field.name for field in fields(config_class)}
    missing = sorted(expected - set(params))
    unknown = sorted(set(params) - expected)
    if missing or unknown:
        raise ValueError(
            f"{block}: missing keys {missing}, unknown keys {unknown}; "
            f"see conf/base/parameters_training.yml for the full block"
        )
