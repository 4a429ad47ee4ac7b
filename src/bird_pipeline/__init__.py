"""Kedro pipelines that train BirdCLEF bird-call classifiers and ship them as CPU models."""

__version__ = "0.1.0"
