"""Backbone presets, pooling layers, heads and the waveform-to-logits classifier."""

from bird_pipeline.models.classifier import BirdClassifier, build_classifier
from bird_pipeline.models.presets import ModelPreset, resolve_preset

__all__ = ["BirdClassifier", "ModelPreset", "build_classifier", "resolve_preset"]
