"""The `loader_benchmark` pipeline: one node that times both loaders."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.loader_benchmark.nodes import benchmark_loaders


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                benchmark_loaders,
                inputs=[
                    "recordings",
                    "audio_cache",
                    "train_audio",
                    "params:loader_benchmark",
                ],
                outputs="loader_benchmark_report",
                name="benchmark_loaders_node",
            )
        ]
    )
