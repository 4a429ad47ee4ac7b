"""Synthesis of a small BirdCLEF-format data set with SYNTHETIC audio.

The `demo_data` pipeline writes made-up species, training recordings, test
soundscapes with labels and background noise, so the training chain can run on
a fresh machine without downloading BirdCLEF.
"""

from bird_pipeline.pipelines.demo_data.pipeline import create_pipeline

__all__ = ["create_pipeline"]
