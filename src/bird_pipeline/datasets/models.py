"""Datasets for exported models: ONNX files, OpenVINO IR (`.xml` + `.bin`) and the
folder of every preset's IR."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

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


PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class IRLoader:
    """Reads one exported IR when called; picklable, so worker processes can use it."""

    path: Path  # the `.xml` file

    def __call__(self) -> Any:
        import openvino as ov

        return ov.Core().read_model(str(self.path))


class ExportedModelsDataset(AbstractDataset[Any, dict]):
    """Every preset's exported IR under one data set's model folder.

    Loading returns `{preset: {precision: IRLoader}}` for each
    `<path>/<preset>/model_<precision>.xml` whose `.bin` exists, precision one
    of `fp32`, `fp16` and `int8`. It is read-only: the `export` pipeline writes
    the files through `model_ir_<precision>`.

    Args:
        path: The data set's model folder, `data/06_models/<dataset>`.
    """

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def load(self) -> dict[str, dict[str, IRLoader]]:
        models: dict[str, dict[str, IRLoader]] = {}
        if not self._path.is_dir():
            return models
        for preset_dir in sorted(self._path.iterdir()):
            found = {
                precision: IRLoader(preset_dir / f"model_{precision}.xml")
                for precision in PRECISIONS
                if (preset_dir / f"model_{precision}.xml").is_file()
                and (preset_dir / f"model_{precision}.bin").is_file()
            }
            if found:
                models[preset_dir.name] = found
        return models

    def save(self, data: Any) -> None:
        raise DatasetError(
            f"{self._path} is read-only; the export pipeline writes IR through "
            f"model_ir_fp32, model_ir_fp16 and model_ir_int8"
        )

    def _exists(self) -> bool:
        return self._path.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
