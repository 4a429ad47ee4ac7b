"""The `export` pipeline: `finetune_checkpoint` to `model_onnx` and `model_ir`."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.export.nodes import (
    convert_openvino,
    export_onnx,
    select_parity_windows,
    write_export_report,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                select_parity_windows,
                inputs=["recordings", "audio_cache", "params:export"],
                outputs="parity_windows",
                name="select_parity_windows_node",
            ),
            node(
                export_onnx,
                inputs=["finetune_checkpoint", "parity_windows", "params:export"],
                outputs=["model_onnx", "onnx_parity"],
                name="export_onnx_node",
            ),
            node(
                convert_openvino,
                inputs=["finetune_checkpoint", "parity_windows", "params:export"],
                outputs=["model_ir", "openvino_parity"],
                name="convert_openvino_node",
            ),
            node(
                write_export_report,
                inputs=[
                    "finetune_checkpoint",
                    "onnx_parity",
                    "openvino_parity",
                    "parity_windows",
                ],
                outputs="export_report",
                name="write_export_report_node",
            ),
        ]
    )
