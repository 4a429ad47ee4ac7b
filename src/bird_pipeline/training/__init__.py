"""Stage configuration, clip datasets, losses, checkpoints and the Lightning module."""
