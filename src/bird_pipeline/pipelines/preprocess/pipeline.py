"""The `preprocess` pipeline: raw BirdCLEF folder to audio cache and label tables."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.preprocess.nodes import (
    build_class_lists,
    decode_labelled_soundscapes,
    decode_recordings,
    enforce_max_skipped,
    report_bad_recordings,
    split_folds,
    validate_metadata_node,
)
from bird_pipeline.pipelines.preprocess.noise import decode_background_noise


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                validate_metadata_node,
                inputs=[
                    "train_metadata",
                    "train_audio",
                    "taxonomy",
                    "sample_submission",
                    "params:preprocess",
                ],
                outputs=["metadata_recordings", "metadata_skips"],
                name="validate_metadata_node",
            ),
            # Updates the cache folder in place, so the cache is an input here.
            node(
                decode_recordings,
                inputs=[
                    "metadata_recordings",
                    "train_audio",
                    "audio_cache",
                    "params:preprocess",
                ],
                outputs=["decoded_recordings", "decode_skips"],
                name="decode_recordings_node",
            ),
            node(
                report_bad_recordings,
                inputs=["metadata_recordings", "metadata_skips", "decode_skips"],
                outputs="bad_recordings",
                name="report_bad_recordings_node",
            ),
            node(
                enforce_max_skipped,
                inputs=["decoded_recordings", "bad_recordings", "params:preprocess"],
                outputs="recordings",
                name="enforce_max_skipped_node",
            ),
            node(
                build_class_lists,
                inputs=["recordings", "taxonomy", "sample_submission"],
                outputs=["pretrain_classes", "train_classes", "class_coverage"],
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
