"""Register the project's pipelines."""

from __future__ import annotations

from kedro.pipeline import Pipeline

from bird_pipeline.pipelines import (
    benchmark,
    demo_data,
    evaluate,
    export,
    loader_benchmark,
    predict,
    preprocess,
    pseudo_label,
)
from bird_pipeline.pipelines.stage import STAGES, create_stage_pipelines


def register_pipelines() -> dict[str, Pipeline]:
    """Register `preprocess`, the five stages, `train` (all stages), `evaluate`,
    `pseudo_label`, `export`, `benchmark`, `predict`, `demo_data`,
    `loader_benchmark`, `demo` (synthesis plus everything) and `__default__`
    (everything but the synthesis and `pseudo_label`, in order)."""
    stages = create_stage_pipelines()
    train = sum((stages[name] for name, _, _ in STAGES), Pipeline([]))
    pipelines: dict[str, Pipeline] = {
        "preprocess": preprocess.create_pipeline(),
        **stages,
        "train": train,
        "evaluate": evaluate.create_pipeline(),
        "pseudo_label": pseudo_label.create_pipeline(),
        "export": export.create_pipeline(),
        "benchmark": benchmark.create_pipeline(),
        "predict": predict.create_pipeline(),
        "demo_data": demo_data.create_pipeline(),
        "loader_benchmark": loader_benchmark.create_pipeline(),
    }
    pipelines["__default__"] = (
        pipelines["preprocess"]
        + train
        + pipelines["evaluate"]
        + pipelines["export"]
        + pipelines["benchmark"]
        + pipelines["predict"]
    )
    pipelines["demo"] = pipelines["demo_data"] + pipelines["__default__"]
    return pipelines
