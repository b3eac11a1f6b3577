"""Durable writes without a database: error classes, backoff, the atomic backup file."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy.exc as sa_exc
from flask import Flask

from backend.config import Settings
from backend.database import is_transient_db_error
from backend.services import backups, persistence
from backend.services.backups import BackupCorruptError, BackupRecord


def _sa(kind: type[sa_exc.DBAPIError], orig: Exception) -> sa_exc.DBAPIError:
    return kind("UPDATE job_chunks SET …", {}, orig)


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (_sa(sa_exc.OperationalError, psycopg.OperationalError("connection refused")), True),
        (_sa(sa_exc.OperationalError, psycopg.errors.SerializationFailure("40001")), True),
        (_sa(sa_exc.OperationalError, psycopg.errors.DeadlockDetected("40P01")), True),
        (_sa(sa_exc.OperationalError, psycopg.errors.AdminShutdown("57P01")), False),
        (_sa(sa_exc.IntegrityError, psycopg.errors.UniqueViolation("23505")), False),
        (_sa(sa_exc.IntegrityError, psycopg.errors.SerializationFailure("40001")), False),
        (_sa(sa_exc.DataError, psycopg.errors.InvalidTextRepresentation("22P02")), False),
        (_sa(sa_exc.ProgrammingError, psycopg.errors.UndefinedTable("42P01")), False),
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (ValueError("not a database error"), False),
    ],
    ids=[
        "refused",
        "serialization",
        "deadlock",
        "admin-shutdown-without-invalidation",
        "unique",
        "integrity-never-even-with-40001",
        "data",
        "programming",
        "pool-timeout",
        "not-sqlalchemy",
    ],
)
def test_transient_classification(error: BaseException, transient: bool) -> None:
    assert is_transient_db_error(error) is transient


def test_connection_invalidated_by_sqlalchemy_is_transient() -> None:
    error = sa_exc.OperationalError(
        "UPDATE", {}, psycopg.errors.AdminShutdown("57P01"), connection_invalidated=True
    )
    assert is_transient_db_error(error)


@pytest.mark.parametrize(
    ("retries", "base", "expected"),
    [(3, 0.5, [0.5, 1.0, 2.0]), (0, 0.5, []), (4, 0.1, [0.1, 0.2, 0.4, 0.8]), (2, -1.0, [0, 0])],
)
def test_backoff_doubles_from_the_base(retries: int, base: float, expected: list[float]) -> None:
    app = Flask(__name__)
    app.extensions["quire_settings"] = Settings(
        persist_retries=retries, persist_backoff_seconds=base
    )
    with app.app_context():
        assert persistence.backoff_delays() == pytest.approx(expected)


def test_default_backoff_is_half_one_two_seconds() -> None:
    settings = Settings.from_env({})
    assert (settings.persist_retries, settings.persist_backoff_seconds) == (3, 0.5)


def _record(**payload: Any) -> BackupRecord:
    return BackupRecord(
        kind="chunk_result",
        job_id="3f6c9d1e-0000-4000-8000-000000000001",
        chunk_pk=7,
        fence={"attempts": 2},
        payload={"status": "success", "result_json": {"sentences": ["Été."]}, **payload},
        error="DB_CONNECTION_ERROR (OperationalError)",
    )


def test_backup_file_is_private_complete_and_verifiable(tmp_path: Path) -> None:
    root = tmp_path / "backups"
    record = _record()

    path = backups.write(root, record)

    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text())
    assert doc["kind"] == "chunk_result"
    assert (doc["job_id"], doc["chunk_pk"], doc["fence"]) == (record.job_id, 7, {"attempts": 2})
    assert doc["payload"] == record.payload
    assert doc["sha256"] == record.sha256 == backups.digest(record.payload)
    assert doc["created_at"]
    assert doc["error"].startswith("DB_CONNECTION_ERROR")
    assert backups.load(path) == replace(record, created_at=doc["created_at"])
    assert [p.path for p in backups.pending(root)] == [path]
    assert not list(root.glob(".partial-*"))


def test_failed_backup_write_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "backups"

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        backups.write(root, _record())
    assert list(root.iterdir()) == []


def test_a_tampered_backup_is_reported_not_loaded(tmp_path: Path) -> None:
    path = backups.write(tmp_path, _record())
    doc = json.loads(path.read_text())
    doc["payload"]["status"] = "failed"
    path.write_text(json.dumps(doc))
    (tmp_path / "garbage.json").write_text("{not json")

    with pytest.raises(BackupCorruptError, match="sha256"):
        backups.load(path)
    found = {p.path.name: p for p in backups.pending(tmp_path)}
    assert found[path.name].record is None
    assert "sha256" in found[path.name].problem
    assert found["garbage.json"].record is None


def test_canonical_digest_ignores_key_order_and_time_zone() -> None:
    from datetime import UTC, datetime, timedelta, timezone

    moment = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    paris = moment.astimezone(timezone(timedelta(hours=1)))
    assert backups.digest({"a": 1, "b": moment}) == backups.digest({"b": paris, "a": 1})
    assert backups.digest({"a": 1}) != backups.digest({"a": 1.5})


def test_superseded_backup_leaves_the_pending_set_but_is_kept(tmp_path: Path) -> None:
    path = backups.write(tmp_path, _record())
    kept = backups.supersede(path)
    assert backups.pending(tmp_path) == []
    assert kept.exists()
    assert kept.parent.name == "superseded"
