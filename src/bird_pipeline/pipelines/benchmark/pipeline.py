"""The `benchmark` pipeline: `model_ir` and the soundscapes to a timing report."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.benchmark.nodes import benchmark_openvino


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                benchmark_openvino,
                inputs=["model_ir", "test_soundscapes", "params:benchmark"],
                outputs="benchmark_report",
                name="benchmark_openvino_node",
            )
        ]
    )
