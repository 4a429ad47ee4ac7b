"""One training-stage template, instantiated under five namespaces."""

from bird_pipeline.pipelines.stage.pipeline import STAGES, create_stage_pipelines

__all__ = ["STAGES", "create_stage_pipelines"]
