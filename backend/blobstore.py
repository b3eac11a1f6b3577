"""The blob store: uploads, chunk PDFs and merged results, by key.

A directory on disk. Every write is atomic (temporary file, fsync, rename) so a
crash never leaves half a file under a real key. In service mode every web and
worker process must see the same directory (a shared volume).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from backend.atomic_files import write_atomically

PIECE_SIZE = 8192


class BlobTooLargeError(Exception):
    """The stream went past the size cap; nothing was stored."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class BlobMissingError(Exception):
    pass


@dataclass(frozen=True)
class StoredBlob:
    key: str
    size: int
    sha256: str
    head: bytes


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return path

    def put_stream(self, key: str, stream: BinaryIO, max_bytes: int) -> StoredBlob:
        """Copy ``stream`` in 8 KB pieces, hashing as it goes; abort past ``max_bytes``."""
        digest = hashlib.sha256()
        size = 0
        head = b""

        def copy(out: BinaryIO) -> None:
            nonlocal size, head
            while piece := stream.read(PIECE_SIZE):
                size += len(piece)
                if size > max_bytes:
                    raise BlobTooLargeError(max_bytes)
                if len(head) < 16:
                    head += piece[: 16 - len(head)]
                digest.update(piece)
                out.write(piece)

        self._write_atomically(key, copy)
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest(), head=head)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._write_atomically(key, lambda out: out.write(data))

    def _write_atomically(self, key: str, write: Callable[[BinaryIO], object]) -> None:
        """Write to a temporary file beside the target, fsync, then rename over it."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, write)

    def get_bytes(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobMissingError(key) from None

    def local_path(self, key: str) -> Path:
        path = self._path(key)
        if not path.exists():
            raise BlobMissingError(key)
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        """Delete the file or directory tree under ``prefix`` (``jobs/<id>``, …).

        Raises ValueError for anything wider than one job's files: the store's
        root ("", ".", "/", "jobs/.."), a top-level directory ("jobs", or
        "jobs/" from an empty job id) or a path outside the store. One bad key
        must never empty the store.
        """
        path = self._path(prefix)
        if len(path.relative_to(self.root.resolve()).parts) < 2:
            raise ValueError(f"refusing to delete {prefix!r}: it is wider than one job's files")
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
