"""The `evaluate` pipeline: `train_bce` and `finetune` checkpoints to one report."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.evaluate.nodes import evaluate_checkpoints


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                evaluate_checkpoints,
                inputs=[
                    "train_bce_checkpoint",
                    "finetune_checkpoint",
                    "recordings",
                    "folds",
                    "audio_cache",
                    "soundscape_audio",
                    "soundscape_labels",
                    "params:validation",
                ],
                outputs="evaluation_report",
                name="evaluate_checkpoints_node",
            )
        ]
    )
