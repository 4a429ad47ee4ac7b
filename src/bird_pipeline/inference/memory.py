"""Peak resident memory of the current process, native allocations included."""

from __future__ import annotations

import resource
import sys


def peak_rss_bytes() -> int:
    """Return the peak resident set size of this process in bytes.

    `getrusage` counts every page the process touched, so memory that
    OpenVINO, ONNX Runtime and PyTorch allocate natively is included; Python's
    `tracemalloc` would miss it. The peak never decreases, so measure each case
    in a fresh process. Linux reports kibibytes and macOS bytes.
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024
