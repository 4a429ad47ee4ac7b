"""Write-to-temporary-then-rename, the one way this project writes files."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call `write` on a temporary path beside `path`, then rename it into place.

    The rename is atomic on POSIX file systems, so readers see either the old
    file or the complete new one. On any error the temporary file is removed.

    Args:
        path: Final location; parent folders are created.
        write: Writes the complete file to the path it receives.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    try:
        write(Path(temporary))
        # mkstemp creates files readable by the owner only; give the file the
        # permissions an ordinary write would have under the current umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
