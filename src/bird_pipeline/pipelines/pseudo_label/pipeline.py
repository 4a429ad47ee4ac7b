"""The `pseudo_label` pipeline: final checkpoint to window predictions and thresholds.

It reads the final checkpoint and the stages read its outputs, so it is not
part of `train` or `__default__` (that would be a cycle). Run it between two
rounds of training: `kedro run --pipelines pseudo_label`, then the stages with
`training.use_pseudo: true`.
"""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.pseudo_label.nodes import (
    apply_hand_labels,
    class_thresholds,
    predict_training_windows,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                predict_training_windows,
                inputs=[
                    "finetune_checkpoint",
                    "recordings",
                    "audio_cache",
                    "test_soundscapes",
                    "params:pseudo_label",
                ],
                outputs="pseudo_predictions",
                name="predict_training_windows_node",
            ),
            node(
                apply_hand_labels,
                inputs=["pseudo_predictions", "hand_labels"],
                outputs="pseudo_labels",
                name="apply_hand_labels_node",
            ),
            node(
                class_thresholds,
                inputs=["pseudo_labels", "recordings", "params:pseudo_label"],
                outputs="pseudo_thresholds",
                name="class_thresholds_node",
            ),
        ]
    )
