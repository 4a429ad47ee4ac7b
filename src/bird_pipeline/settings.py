"""Kedro project settings."""

import os

from kedro.config import OmegaConfigLoader

from bird_pipeline.tracking import MlflowReportHooks

HOOKS = (MlflowReportHooks(),)

# BIRD_PIPELINE_MLFLOW=0 turns experiment tracking off: kedro-mlflow's hooks are
# not registered, no MLflow run opens, and MlflowReportHooks does nothing.
if os.environ.get("BIRD_PIPELINE_MLFLOW", "1") == "0":
    # The distribution name as pip records it; older wheels spelt it with a dash.
    DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow", "kedro-mlflow")

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments such as `demo` override single keys of a stage block instead
    # of replacing the whole block.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}
