"""The `export` pipeline: final checkpoint to ONNX and OpenVINO IR."""

from bird_pipeline.pipelines.export.pipeline import create_pipeline

__all__ = ["create_pipeline"]
