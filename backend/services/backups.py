"""The file backup: records the database would not take, kept until they are replayed.

One JSON file per record in ``QUIRE_BACKUP_DIR`` (default ``$QUIRE_DATA_DIR/backups``),
written atomically (a temporary file beside it, fsync, rename, fsync of the
directory) with mode 0600 in a 0700 directory: a crash leaves the whole record
or nothing, and results are readable by the service's user only. A file is
deleted only once its record is in the database (``flask quire recover``);
one that no longer applies is moved to ``superseded/`` for inspection.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.atomic_files import fsync_directory, write_atomically

FORMAT_VERSION = 1
KINDS = ("upload", "chunk_result", "job_result")
SUPERSEDED = "superseded"
_TEMP_PREFIX = ".partial-"


class BackupCorruptError(Exception):
    """A backup file that cannot be read, or whose payload does not match its SHA-256."""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        # One spelling per instant, whatever time zone the database answered in.
        return value.astimezone(UTC).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical(value: Any) -> bytes:
    """Sorted keys, no spaces, datetimes as UTC ISO 8601: equal values, equal bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_encode
    ).encode("utf-8")


def digest(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical(value)).hexdigest()


def jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as plain JSON types (datetimes become UTC ISO strings)."""
    loaded: dict[str, Any] = json.loads(canonical(dict(values)))
    return loaded


@dataclass(frozen=True)
class BackupRecord:
    """One write that must not be lost: what to write, where, and when it still applies.

    ``payload`` holds column values (JSON types); ``fence`` the facts the row had
    to match when the write was first tried (``attempts`` of a chunk, ``round``
    of a job).
    """

    kind: str
    job_id: str
    payload: dict[str, Any]
    fence: dict[str, Any] = field(default_factory=dict)
    chunk_pk: int | None = None
    created_at: str = ""
    error: str = ""

    @property
    def sha256(self) -> str:
        return digest(self.payload)

    def to_document(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "job_id": self.job_id,
            "chunk_pk": self.chunk_pk,
            "fence": self.fence,
            "payload": self.payload,
            "sha256": self.sha256,
            "created_at": self.created_at,
            "error": self.error,
            "host": os.uname().nodename,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> BackupRecord:
        try:
            record = cls(
                kind=str(doc["kind"]),
                job_id=str(doc["job_id"]),
                payload=dict(doc["payload"]),
                fence=dict(doc.get("fence") or {}),
                chunk_pk=int(doc["chunk_pk"]) if doc.get("chunk_pk") is not None else None,
                created_at=str(doc.get("created_at", "")),
                error=str(doc.get("error", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupCorruptError(f"missing or malformed field: {exc}") from None
        if record.kind not in KINDS:
            raise BackupCorruptError(f"unknown kind {record.kind!r}")
        if record.sha256 != doc.get("sha256"):
            raise BackupCorruptError("the payload does not match its sha256")
        return record


@dataclass(frozen=True)
class PendingBackup:
    """A backup file, with its record or the reason it could not be read."""

    path: Path
    record: BackupRecord | None
    problem: str = ""

    @property
    def age_seconds(self) -> float:
        with contextlib.suppress(OSError):
            return max(0.0, datetime.now(UTC).timestamp() - self.path.stat().st_mtime)
        return 0.0


def _file_name(record: BackupRecord, now: datetime) -> str:
    target = f"chunk{record.chunk_pk}" if record.chunk_pk is not None else "job"
    # The time stamp first: a plain listing is oldest first.
    stamp = now.strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{record.kind}-{record.job_id}-{target}-{uuid.uuid4().hex[:8]}.json"


def ensure_directory(root: Path) -> None:
    """Create the backup directory (0700) if it does not exist."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)


def write(root: Path, record: BackupRecord) -> Path:
    """Write ``record`` atomically as a new 0600 file in ``root``; returns its path."""
    ensure_directory(root)
    now = datetime.now(UTC)
    if not record.created_at:
        record = replace(record, created_at=now.isoformat())
    data = json.dumps(record.to_document(), ensure_ascii=False, indent=1).encode("utf-8")
    path = root / _file_name(record, now)
    # 0600: mkstemp's default, stated: results are private.
    write_atomically(path, lambda out: out.write(data), prefix=_TEMP_PREFIX, mode=0o600)
    fsync_directory(root)
    return path


def load(path: Path) -> BackupRecord:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise BackupCorruptError(f"unreadable: {exc}") from None
    if not isinstance(doc, dict):
        raise BackupCorruptError("not a JSON object")
    return BackupRecord.from_document(doc)


def pending(root: Path) -> list[PendingBackup]:
    """Every backup file waiting in ``root``, oldest first (unreadable ones included)."""
    if not root.is_dir():
        return []
    found: list[PendingBackup] = []
    for path in sorted(root.glob("*.json")):
        try:
            found.append(PendingBackup(path, load(path)))
        except BackupCorruptError as exc:
            found.append(PendingBackup(path, None, str(exc)))
    return found


def remove(path: Path) -> None:
    """Delete a backup whose record is now in the database."""
    path.unlink(missing_ok=True)
    fsync_directory(path.parent)


def supersede(path: Path) -> Path:
    """Move a backup that no longer applies out of the pending set, keeping it."""
    target_dir = path.parent / SUPERSEDED
    ensure_directory(target_dir)
    target = target_dir / path.name
    os.replace(path, target)
    fsync_directory(path.parent)
    return target


def writable(root: Path) -> str | None:
    """None when a backup could be written in ``root`` now; else the reason it could not."""
    try:
        ensure_directory(root)
        fd, probe = tempfile.mkstemp(dir=root, prefix=_TEMP_PREFIX, suffix=".probe")
        os.close(fd)
        Path(probe).unlink()
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None
