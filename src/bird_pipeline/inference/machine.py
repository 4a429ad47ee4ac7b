"""Describe the machine a report was measured on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe_machine() -> dict[str, str | int]:
    """Return the CPU model, logical core count and Python and OpenVINO versions."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        import openvino

        openvino_version = openvino.__version__
    except ImportError:
        openvino_version = "not installed"
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "openvino": openvino_version,
    }
