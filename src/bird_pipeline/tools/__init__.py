"""Command-line tools that drive several Kedro runs."""
