"""The registered pipelines and the checkpoint chain between stages."""

from __future__ import annotations

from kedro.framework.startup import bootstrap_project

from bird_pipeline.pipeline_registry import register_pipelines
from tests.conftest import PROJECT_ROOT

STAGE_ORDER = ["pretrain_ce", "pretrain_bce", "train_ce", "train_bce", "finetune"]


def test_every_pipeline_registered():
    bootstrap_project(PROJECT_ROOT)
    pipelines = register_pipelines()
    expected = {
        "preprocess",
        *STAGE_ORDER,
        "train",
        "evaluate",
        "export",
        "benchmark",
        "predict",
        "demo_data",
        "loader_benchmark",
        "demo",
        "__default__",
    }
    assert expected <= set(pipelines)


def test_stages_chain_through_checkpoints():
    pipelines = register_pipelines()
    previous = "initial_checkpoint"
    for stage in STAGE_ORDER:
        stage_pipeline = pipelines[stage]
        assert (
            previous in stage_pipeline.inputs()
            or previous in stage_pipeline.all_outputs()
        )
        assert f"{stage}_checkpoint" in stage_pipeline.outputs()
        previous = f"{stage}_checkpoint"
    assert "finetune_checkpoint" in pipelines["export"].inputs()


def test_stages_have_no_dangling_inputs():
    pipelines = register_pipelines()
    free_inputs = {name for name in pipelines["__default__"].inputs() if "." in name}
    assert free_inputs == set()


def test_stage_reports_published():
    stage_outputs = register_pipelines()["train_bce"].all_outputs()
    for name in (
        "train_bce_best_checkpoint",
        "train_bce_last_checkpoint",
        "train_bce_history",
        "train_bce_curves",
        "train_bce_class_ap",
    ):
        assert name in stage_outputs


def test_stage_classes_switch_at_train_ce():
    pipelines = register_pipelines()
    assert "pretrain_classes" in pipelines["pretrain_bce"].inputs()
    assert "train_classes" in pipelines["train_ce"].inputs()
    assert "pretrain_classes" not in pipelines["train_ce"].inputs()


def test_exported_models_read_after_export():
    # `exported_models` reads the IR files back from disk under another name
    # than the export writes them, so only `export_report` orders its readers.
    pipelines = register_pipelines()
    for name in ("__default__", "demo"):
        pipeline = pipelines[name]
        readers = [node for node in pipeline.nodes if "exported_models" in node.inputs]
        assert readers, name
        for reader in readers:
            ancestors = {node.name for node in pipeline.to_nodes(reader.name).nodes}
            assert "write_exports_node" in ancestors, (name, reader.name)
