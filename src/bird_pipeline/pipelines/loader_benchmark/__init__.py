"""Training-loader throughput: crops from the audio cache vs decoding per item."""

from bird_pipeline.pipelines.loader_benchmark.pipeline import create_pipeline

__all__ = ["create_pipeline"]
