"""The `evaluate` pipeline: score the trained checkpoints on the held-out fold."""

from bird_pipeline.pipelines.evaluate.pipeline import create_pipeline

__all__ = ["create_pipeline"]
