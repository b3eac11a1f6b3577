"""Atomic file writes: a reader sees the old file or the whole new one, never a part.

Write to a temporary file beside the target, fsync it, rename it over the
target. Used by the blob store (uploads, chunk PDFs, results) and by the
persistence backups (records the database would not take).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def write_atomically(
    path: Path,
    write: Callable[[BinaryIO], object],
    *,
    prefix: str = ".write-",
    mode: int | None = None,
) -> None:
    """Write ``path`` through ``write(out)``; ``mode`` is set before any byte is written."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def fsync_directory(directory: Path) -> None:
    """Make a rename itself durable (the directory entry), not only the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
