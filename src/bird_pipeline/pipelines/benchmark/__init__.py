"""The `benchmark` pipeline: OpenVINO timing over the test soundscapes."""

from bird_pipeline.pipelines.benchmark.pipeline import create_pipeline

__all__ = ["create_pipeline"]
