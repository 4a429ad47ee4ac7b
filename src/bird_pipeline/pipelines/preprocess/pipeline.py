"""The `preprocess` pipeline: raw BirdCLEF folder to audio cache and label tables."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.preprocess.nodes import (
    build_class_lists,
    decode_recordings,
    validate_metadata_node,
)


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                validate_metadata_node,
                inputs="train_metadata",
                outputs="metadata_recordings",
                name="validate_metadata_node",
            ),
            node(
                decode_recordings,
                inputs=["metadata_recordings", "train_audio", "params:preprocess"],
                outputs=["audio_cache", "recordings", "bad_recordings"],
                name="decode_recordings_node",
            ),
            node(
                build_class_lists,
                inputs=["recordings", "taxonomy", "sample_submission"],
                outputs=["pretrain_classes", "train_classes"],
                name="build_class_lists_node",
            ),
        ]
    )
