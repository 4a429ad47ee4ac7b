"""Metadata validation, decoding into the audio cache, and the class lists."""

from bird_pipeline.pipelines.preprocess.pipeline import create_pipeline

__all__ = ["create_pipeline"]
