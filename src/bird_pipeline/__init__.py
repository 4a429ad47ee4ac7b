"""Kedro pipelines that train BirdCLEF bird-call classifiers for fast CPU inference."""

__version__ = "0.1.0"
