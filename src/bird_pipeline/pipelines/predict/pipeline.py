"""The `predict` pipeline: `model_ir` and the soundscapes to `submission`."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.predict.nodes import predict_soundscapes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                predict_soundscapes,
                inputs=[
                    "model_ir",
                    "test_soundscapes",
                    "train_classes",
                    "params:predict",
                ],
                outputs="submission",
                name="predict_soundscapes_node",
            )
        ]
    )
