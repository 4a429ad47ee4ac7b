"""The recipe comparison tool: variant parameters and the README table."""

from __future__ import annotations

from bird_pipeline.tools.compare_recipes import VARIANTS, markdown_table, merge


def test_merge_overrides_nested_keys():
    base = {"training": {"mixup_prob": 0.5, "batch_size": 32}, "model": "cnn_b0ns"}
    merged = merge(base, VARIANTS["no_augment"])
    assert merged["training"]["mixup_prob"] == 0.0
    assert merged["training"]["spec_mixup_prob"] == 0.0
    assert merged["training"]["augment"] is None
    assert merged["training"]["spec_augment"] is None
    assert merged["training"]["batch_size"] == 32
    assert merged["model"] == "cnn_b0ns"
    assert base["training"]["mixup_prob"] == 0.5  # the base is left unchanged


def test_reference_variant_switches_validation():
    merged = merge({"validation": {"fold": 0}}, VARIANTS["reference"])
    assert merged["validation"] == {"fold": 0, "reference": True}


def test_markdown_table_rows_and_missing_scores():
    scores = {
        "val_cmap": 0.9,
        "val_roc_auc": 0.5,
        "soundscape_cmap": 1.0,
        "soundscape_roc_auc": None,
    }
    reports = [
        {"variant": "recipe", "train_bce": scores, "finetune": scores},
        {"variant": "reference", "train_bce": scores, "finetune": scores},
    ]
    lines = markdown_table(reports).splitlines()
    assert len(lines) == 2 + 4
    assert lines[2] == "| recipe | train_bce | 0.900 | 0.500 | 1.000 | n/a |"
    assert lines[5].startswith("| reference | finetune |")
