"""The `predict` pipeline: test soundscapes to `submission.csv`."""

from bird_pipeline.pipelines.predict.pipeline import create_pipeline

__all__ = ["create_pipeline"]
