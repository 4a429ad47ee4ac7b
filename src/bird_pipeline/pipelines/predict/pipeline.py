"""The `predict` pipeline: exported IR and the soundscapes to `submission`."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.predict.nodes import confirm_export, predict_soundscapes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                confirm_export,
                inputs=["export_report", "exported_models", "params:model"],
                outputs="confirmed_models",
                name="confirm_export_node",
            ),
            node(
                predict_soundscapes,
                inputs=[
                    "confirmed_models",
                    "test_soundscapes",
                    "train_classes",
                    "params:model",
                    "params:presets",
                    "params:predict",
                ],
                outputs="submission",
                name="predict_soundscapes_node",
            ),
        ]
    )
