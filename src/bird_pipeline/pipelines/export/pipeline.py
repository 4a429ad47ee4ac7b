"""The `export` pipeline: `finetune_checkpoint` to ONNX and FP32, FP16, INT8 IR."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.export.nodes import (
    convert_openvino,
    export_onnx,
    quantize_openvino,
    select_parity_windows,
    write_exports,
)
from bird_pipeline.pipelines.export.windows import (
    select_calibration_windows,
    select_validation_windows,
)

_WINDOW_INPUTS = [
    "recordings",
    "audio_cache",
    "folds",
    "finetune_checkpoint",
    "params:export",
    "params:validation",
]


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
                select_calibration_windows,
                inputs=_WINDOW_INPUTS,
                outputs="calibration_windows",
                name="select_calibration_windows_node",
            ),
            node(
                select_validation_windows,
                inputs=_WINDOW_INPUTS,
                outputs="int8_validation_windows",
                name="select_validation_windows_node",
            ),
            node(
                export_onnx,
                inputs=["finetune_checkpoint", "parity_windows", "params:export"],
                outputs=["onnx_candidate", "onnx_parity"],
                name="export_onnx_node",
            ),
            node(
                convert_openvino,
                inputs=["finetune_checkpoint", "parity_windows", "params:export"],
                outputs=["ir_candidate", "openvino_parity"],
                name="convert_openvino_node",
            ),
            node(
                quantize_openvino,
                inputs=[
                    "ir_candidate",
                    "calibration_windows",
                    "int8_validation_windows",
                    "params:export",
                ],
                outputs=["int8_candidate", "int8_report"],
                name="quantize_openvino_node",
            ),
            node(
                write_exports,
                inputs=[
                    "finetune_checkpoint",
                    "onnx_candidate",
                    "ir_candidate",
                    "int8_candidate",
                    "onnx_parity",
                    "openvino_parity",
                    "int8_report",
                    "parity_windows",
                ],
                outputs=[
                    "model_onnx",
                    "model_ir_fp32",
                    "model_ir_fp16",
                    "model_ir_int8",
                    "export_report",
                ],
                name="write_exports_node",
            ),
        ]
    )
