"""The five chained training stages, built from one template.

Each stage reads the previous stage's checkpoint dataset, so the catalog (and
`kedro viz`) shows the chain `initial_checkpoint -> pretrain_ce_checkpoint ->
pretrain_bce_checkpoint -> train_ce_checkpoint -> train_bce_checkpoint ->
finetune_checkpoint`. The checkpoints sit outside the stage namespaces, so the
chain reads at the top level of the lineage graph.
"""

from kedro.pipeline import Pipeline, node, pipeline

from bird_pipeline.pipelines.stage.nodes import (
    initialize_model,
    plot_stage_report,
    select_checkpoint,
    train_stage,
)

# (stage, dataset it starts from, classes it predicts)
STAGES: tuple[tuple[str, str, str], ...] = (
    ("pretrain_ce", "initial_checkpoint", "pretrain_classes"),
    ("pretrain_bce", "pretrain_ce_checkpoint", "pretrain_classes"),
    ("train_ce", "pretrain_bce_checkpoint", "train_classes"),
    ("train_bce", "train_ce_checkpoint", "train_classes"),
    ("finetune", "train_bce_checkpoint", "train_classes"),
)

# Template outputs, published as `<stage>_<output>` outside the namespace.
STAGE_OUTPUTS = (
    "checkpoint",
    "last_checkpoint",
    "best_checkpoint",
    "history",
    "curves",
    "class_ap",
)


def _stage_template() -> Pipeline:
    return Pipeline(
        [
            node(
                train_stage,
                inputs=[
                    "start_checkpoint",
                    "recordings",
                    "folds",
                    "audio_cache",
                    "noise_audio",
                    "soundscape_audio",
                    "soundscape_labels",
                    "pseudo_labels",
                    "pseudo_thresholds",
                    "classes",
                    "params:training",
                    "params:validation",
                    "params:stage",
                ],
                outputs=["last_checkpoint", "best_checkpoint", "history"],
                name="train_stage_node",
            ),
            node(
                select_checkpoint,
                inputs=["last_checkpoint", "best_checkpoint", "params:validation"],
                outputs="checkpoint",
                name="select_checkpoint_node",
            ),
            node(
                plot_stage_report,
                inputs="history",
                outputs=["curves", "class_ap"],
                name="plot_stage_report_node",
            ),
        ]
    )


def _initialize_pipeline() -> Pipeline:
    return Pipeline(
        [
            node(
                initialize_model,
                inputs=[
                    "params:model",
                    "params:presets",
                    "params:model_options",
                    "pretrain_classes",
                ],
                outputs="initial_checkpoint",
                name="initialize_model_node",
            )
        ]
    )


def create_stage_pipelines() -> dict[str, Pipeline]:
    """Return one pipeline per stage, keyed by stage name; `pretrain_ce` also
    builds the initial model."""
    template = _stage_template()
    stages: dict[str, Pipeline] = {}
    for stage, start, classes in STAGES:
        stages[stage] = pipeline(
            template,
            namespace=stage,
            inputs={
                "start_checkpoint": start,
                "recordings": "recordings",
                "folds": "folds",
                "audio_cache": "audio_cache",
                "noise_audio": "noise_audio",
                "soundscape_audio": "soundscape_audio",
                "soundscape_labels": "soundscape_labels",
                "pseudo_labels": "pseudo_labels",
                "pseudo_thresholds": "pseudo_thresholds",
                "classes": classes,
            },
            outputs={name: f"{stage}_{name}" for name in STAGE_OUTPUTS},
            parameters={
                "params:training": "params:training",
                "params:validation": "params:validation",
                "params:stage": f"params:{stage}",
            },
        )
    stages["pretrain_ce"] = _initialize_pipeline() + stages["pretrain_ce"]
    return stages
