"""The `predict` pipeline: exported IR and the soundscapes to `submission`."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.predict.nodes import predict_soundscapes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                predict_soundscapes,
                inputs=[
                    "exported_models",
                    "test_soundscapes",
                    "train_classes",
                    "params:model",
                    "params:predict",
                ],
                outputs="submission",
                name="predict_soundscapes_node",
            )
        ]
    )
