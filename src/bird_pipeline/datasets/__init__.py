"""Kedro datasets for audio folders, the decoded-audio cache, checkpoints and exports.

Every writer goes through `atomic_write`, so an interrupted run never leaves a
half-written model or report behind.
"""

from bird_pipeline.datasets.atomic import atomic_write
from bird_pipeline.datasets.audio_cache import AudioCache, AudioCacheDataset
from bird_pipeline.datasets.audio_folder import (
    AudioFile,
    AudioFolderDataset,
    read_audio,
)
from bird_pipeline.datasets.checkpoint import TorchCheckpointDataset
from bird_pipeline.datasets.figures import FigureDataset
from bird_pipeline.datasets.models import (
    ExportedModelsDataset,
    IRLoader,
    OnnxModelDataset,
    OpenVINOModelDataset,
)
from bird_pipeline.datasets.reports import CSVTableDataset, JSONReportDataset

__all__ = [
    "AudioCache",
    "AudioCacheDataset",
    "AudioFile",
    "AudioFolderDataset",
    "CSVTableDataset",
    "ExportedModelsDataset",
    "FigureDataset",
    "IRLoader",
    "JSONReportDataset",
    "OnnxModelDataset",
    "OpenVINOModelDataset",
    "TorchCheckpointDataset",
    "atomic_write",
    "read_audio",
]
