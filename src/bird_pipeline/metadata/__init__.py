"""Parsing and validation of BirdCLEF metadata tables, and the class lists."""

from bird_pipeline.metadata.classes import pretrain_classes_from, train_classes_from
from bird_pipeline.metadata.recordings import (
    MetadataError,
    parse_label_list,
    validate_metadata,
)

__all__ = [
    "MetadataError",
    "parse_label_list",
    "pretrain_classes_from",
    "train_classes_from",
    "validate_metadata",
]
