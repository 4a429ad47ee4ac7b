"""The `benchmark` pipeline: every runtime, streaming memory and the ensemble."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.benchmark.nodes import (
    benchmark_ensemble,
    benchmark_runtimes,
    benchmark_streaming,
    write_benchmark_report,
)
from bird_pipeline.pipelines.predict.nodes import confirm_export


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            # The IRs are read back from disk as a folder of presets, so the
            # export report supplies the dependency edge that runs export first.
            node(
                confirm_export,
                inputs=["export_report", "exported_models", "params:model"],
                outputs="models_to_benchmark",
                name="confirm_benchmark_export_node",
            ),
            node(
                benchmark_runtimes,
                inputs=[
                    "finetune_checkpoint",
                    "model_onnx",
                    "model_ir_fp32",
                    "model_ir_fp16",
                    "model_ir_int8",
                    "test_soundscapes",
                    "params:benchmark",
                ],
                outputs="benchmark_runtimes",
                name="benchmark_runtimes_node",
            ),
            node(
                benchmark_streaming,
                inputs=[
                    "models_to_benchmark",
                    "test_soundscapes",
                    "params:model",
                    "params:benchmark",
                ],
                outputs="benchmark_streaming",
                name="benchmark_streaming_node",
            ),
            node(
                benchmark_ensemble,
                inputs=[
                    "models_to_benchmark",
                    "test_soundscapes",
                    "params:presets",
                    "params:benchmark",
                ],
                outputs="benchmark_ensemble",
                name="benchmark_ensemble_node",
            ),
            node(
                write_benchmark_report,
                inputs=[
                    "benchmark_runtimes",
                    "benchmark_streaming",
                    "benchmark_ensemble",
                    "params:model",
                    "params:benchmark",
                ],
                outputs=["benchmark_report", "benchmark_plot"],
                name="write_benchmark_report_node",
            ),
        ]
    )
