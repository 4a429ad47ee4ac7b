"""The `pseudo_label` pipeline: window predictions for pseudo-labelled training."""

from bird_pipeline.pipelines.pseudo_label.pipeline import create_pipeline

__all__ = ["create_pipeline"]
