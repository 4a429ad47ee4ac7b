"""The `demo_data` pipeline: one node that synthesises a BirdCLEF-format data set."""

from kedro.pipeline import Pipeline, node

from bird_pipeline.pipelines.demo_data.nodes import synthesize_demo_data


def create_pipeline(**kwargs) -> Pipeline:
    """Create the pipeline that writes the SYNTHETIC demo data set.

    Its outputs carry the dataset names of the BirdCLEF inputs that the
    training chain reads, such as `train_metadata` and `train_audio`.
    """
    return Pipeline(
        [
            node(
                synthesize_demo_data,
                inputs="params:demo_data",
                outputs=[
                    "train_metadata",
                    "taxonomy",
                    "train_audio",
                    "test_soundscapes",
                    "background_noise",
                    "soundscape_labels",
                ],
                name="synthesize_demo_data_node",
            )
        ]
    )
