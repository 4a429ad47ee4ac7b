"""Kedro project settings."""

from kedro.config import OmegaConfigLoader

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments such as `demo` override single keys of a stage block instead
    # of replacing the whole block.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}
