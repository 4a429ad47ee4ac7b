"""Peak resident memory of the current process, native allocations included."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

STATUS = Path("/proc/self/status")


def peak_rss_bytes() -> int:
    """Return the peak resident set size of this process in bytes.

    On Linux this is `VmHWM` from `/proc/self/status`: it counts every page the
    process touched, so memory that OpenVINO, ONNX Runtime and PyTorch allocate
    natively is included, which Python's `tracemalloc` would miss. `VmHWM`
    starts afresh when a process executes a new program. `getrusage`'s
    `ru_maxrss`, the fallback elsewhere, survives `execve` on Linux, so a
    spawned worker would report its parent's peak. The peak never decreases, so
    measure each case in a fresh process.
    """
    if STATUS.is_file():
        for line in STATUS.read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # the value is in kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024
