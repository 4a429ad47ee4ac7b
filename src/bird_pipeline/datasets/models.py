"""Datasets for exported models: ONNX files and OpenVINO IR (`.xml` + `.bin`)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from bird_pipeline.datasets.atomic import atomic_write


class OnnxModelDataset(AbstractDataset[Any, Any]):
    """An `onnx.ModelProto` in one `.onnx` file.

    Args:
        filepath: The `.onnx` file.
    """

    def __init__(self, filepath: str) -> None:
        self._filepath = Path(filepath)

    def load(self) -> Any:
        import onnx

        return onnx.load(str(self._filepath))

    def save(self, data: Any) -> None:
        import onnx

        atomic_write(self._filepath, lambda temporary: onnx.save(data, str(temporary)))

    def _exists(self) -> bool:
        return self._filepath.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}


class OpenVINOModelDataset(AbstractDataset[Any, Any]):
    """An `openvino.Model` saved as IR.

    Args:
        filepath: The `.xml` file; the weights go to the `.bin` beside it.
        compress_to_fp16: Store weights as FP16, which halves the file; the
            runtime still computes in the precision its hint selects.
    """

    def __init__(self, filepath: str, compress_to_fp16: bool = True) -> None:
        self._filepath = Path(filepath)
        self._compress_to_fp16 = compress_to_fp16

    def load(self) -> Any:
        import openvino as ov

        return ov.Core().read_model(str(self._filepath))

    def save(self, data: Any) -> None:
        import openvino as ov

        self._filepath.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self._filepath.parent) as staging:
            staged = Path(staging) / self._filepath.name
            ov.save_model(data, str(staged), compress_to_fp16=self._compress_to_fp16)
            weights = self._filepath.with_suffix(".bin")
            # The weights go first, so a present .xml always has a complete .bin.
            atomic_write(
                weights,
                lambda temporary: shutil.copyfile(
                    staged.with_suffix(".bin"), temporary
                ),
            )
            atomic_write(
                self._filepath, lambda temporary: shutil.copyfile(staged, temporary)
            )

    def _exists(self) -> bool:
        return self._filepath.is_file() and self._filepath.with_suffix(".bin").is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "compress_to_fp16": self._compress_to_fp16,
        }
