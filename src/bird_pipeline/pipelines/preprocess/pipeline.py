"""The `preprocess` pipeline: raw BirdCLEF folder to audio cache and label tables."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.preprocess.nodes import (
    build_class_lists,
    decode_labelled_soundscapes,
    decode_recordings,
    split_folds,
    validate_metadata_node,
)
from bird_pipeline.pipelines.preprocess.noise import decode_background_noise


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
            node(
                split_folds,
                inputs=["recordings", "params:validation"],
                outputs="folds",
                name="split_folds_node",
            ),
            node(
                decode_labelled_soundscapes,
                inputs=["test_soundscapes", "soundscape_labels", "params:preprocess"],
                outputs="soundscape_audio",
                name="decode_labelled_soundscapes_node",
            ),
            node(
                decode_background_noise,
                inputs=["background_noise", "params:preprocess"],
                outputs="noise_audio",
                name="decode_background_noise_node",
            ),
        ]
    )
