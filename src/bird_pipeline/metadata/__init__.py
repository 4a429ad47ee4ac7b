"""Parsing and validation of BirdCLEF metadata tables, and the class lists."""

from bird_pipeline.metadata.classes import (
    class_coverage,
    pretrain_classes_from,
    train_classes_from,
)
from bird_pipeline.metadata.labels import apply_taxonomy
from bird_pipeline.metadata.layouts import (
    index_by_normalised_name,
    metadata_from_folders,
    normalise_name,
    submission_species,
    taxonomy_codes,
)
from bird_pipeline.metadata.recordings import (
    MetadataError,
    parse_label_list,
    parse_rating,
    split_duplicate_rows,
    validate_metadata,
)

__all__ = [
    "MetadataError",
    "apply_taxonomy",
    "class_coverage",
    "index_by_normalised_name",
    "metadata_from_folders",
    "normalise_name",
    "parse_label_list",
    "parse_rating",
    "pretrain_classes_from",
    "split_duplicate_rows",
    "submission_species",
    "taxonomy_codes",
    "train_classes_from",
    "validate_metadata",
]
