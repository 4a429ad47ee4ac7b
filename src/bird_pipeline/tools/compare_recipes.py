"""Train the five stages three ways and compare their validation scores.

Variants, each a full `preprocess` + `train` + `evaluate` run on one data set:

- `recipe`: the parameters as configured (augmentation and mixing on).
- `no_augment`: waveform and spectrogram augmentation and both mixups off.
- `reference`: `validation.reference: true`, as the reference recipe trained
  (every recording, no validation, the last checkpoint passed on).

Every variant is scored by the `evaluate` pipeline on the same held-out fold
and labelled soundscapes. The reference variant has trained on that fold, so
its held-out scores are scores on training data; its soundscape scores remain
comparable. Usage (from the project root):

    python -m bird_pipeline.tools.compare_recipes \\
        --raw-dir ../shared/data/birdclef_mini --dataset mini --epochs 4

`--env demo` trains with the demo environment's settings instead (5 s clips,
batches of 8 and more epochs), which gives a randomly initialised encoder
more optimiser steps on a small data set.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import mlflow
from kedro.framework.project import configure_project
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from bird_pipeline.datasets.atomic import atomic_write

logger = logging.getLogger(__name__)

STAGES = ("pretrain_ce", "pretrain_bce", "train_ce", "train_bce", "finetune")
VARIANTS: dict[str, dict[str, Any]] = {
    "recipe": {},
    "no_augment": {
        "training": {
            "augment": None,
            "spec_augment": None,
            "mixup_prob": 0.0,
            "spec_mixup_prob": 0.0,
        }
    },
    "reference": {"validation": {"reference": True}},
}
METRICS = ("val_cmap", "val_roc_auc", "soundscape_cmap", "soundscape_roc_auc")


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge nested dicts; values in `override` win."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def run_variant(
    project: Path, name: str, base_params: dict[str, Any], env: str | None = None
) -> dict[str, Any]:
    """Run preprocess, the five stages and evaluate for one variant.

    Nodes whose outputs exist are skipped, so an interrupted comparison
    continues where it stopped (and an interrupted stage resumes).
    """
    bootstrap_project(project)
    configure_project("bird_pipeline")
    params = merge(base_params, VARIANTS[name])
    params["dataset"] = f"{base_params['dataset']}_{name}"
    started = time.perf_counter()
    for pipeline_name in ("preprocess", "train", "evaluate"):
        with KedroSession.create(
            project_path=project, env=env, runtime_params=params
        ) as session:
            session.run(pipeline_name=pipeline_name, only_missing_outputs=True)
        # NOTE: kedro-mlflow 2.0.3 can leave its run open between sessions of
        # one process, so the next pipeline would log into it; close it.
        mlflow.end_run()
    with KedroSession.create(
        project_path=project, env=env, runtime_params=params
    ) as session:
        report = session.load_context().catalog.load("evaluation_report")
    report["variant"] = name
    report["dataset"] = params["dataset"]
    report["minutes"] = (time.perf_counter() - started) / 60
    logger.info("Variant %s: %s", name, report)
    return report


def run_variant_isolated(
    project: Path, name: str, base_params: dict[str, Any], env: str | None = None
) -> dict[str, Any]:
    """Run `run_variant` in a fresh process.

    kedro-mlflow 2.0.3 keeps its active run in process-wide state and resumes
    it in the next session, which then fails to log the variant's different
    parameters. A process per variant gives each variant its own MLflow run.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_variant, project, name, base_params, env).result()


def markdown_table(reports: list[dict[str, Any]]) -> str:
    """Format train_bce and finetune scores of every variant as a Markdown table."""
    header = "| variant | checkpoint | " + " | ".join(METRICS) + " |"
    lines = [header, "|" + "---|" * (len(METRICS) + 2)]
    for report in reports:
        for stage in ("train_bce", "finetune"):
            scores = report[stage]
            cells = [
                "n/a" if scores.get(metric) is None else f"{scores[metric]:.3f}"
                for metric in METRICS
            ]
            lines.append(
                f"| {report['variant']} | {stage} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines) + "\n"


def write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically."""
    atomic_write(path, lambda temporary: temporary.write_text(text))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw-dir", required=True, help="BirdCLEF-format folder")
    parser.add_argument("--dataset", default="mini", help="name of the data set")
    parser.add_argument("--model", default="cnn_b0ns", help="backbone preset")
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="epochs of every stage (int >= 1); default: as configured",
    )
    parser.add_argument(
        "--env",
        default=None,
        help="Kedro configuration environment over conf/base, e.g. demo",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        help="variants to run, in order",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO)
    project = Path.cwd()
    base_params: dict[str, Any] = {
        "raw_dir": str(Path(args.raw_dir).resolve()),
        "dataset": args.dataset,
        "model": args.model,
    }
    if args.epochs is not None:
        base_params.update({stage: {"epochs": args.epochs} for stage in STAGES})
    reports = [
        run_variant_isolated(project, name, base_params, args.env)
        for name in args.variants
    ]
    out_dir = project / "data" / "08_reporting" / args.dataset / args.model
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "recipe_comparison.json", json.dumps(reports, indent=2) + "\n")
    table = markdown_table(reports)
    write_text(out_dir / "recipe_comparison.md", table)
    logger.info("Recipe comparison written to %s:\n%s", out_dir, table)


if __name__ == "__main__":
    main()
