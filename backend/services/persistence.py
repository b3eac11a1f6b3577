"""Durable writes: uploads, chunk results and job results are never lost.

Each write is tried, then retried on a transient database error (a lost or
refused connection, a deadlock, a serialization failure) after
``QUIRE_PERSIST_BACKOFF_SECONDS`` × 1, 2, 4 … up to ``QUIRE_PERSIST_RETRIES``
times. The pre-save health check is the pool's pre-ping on checkout (which also
replaces a dead connection), plus a ``SELECT 1`` before every retry. Every write
returns the stored values (``RETURNING``, in the same round trip) and their
SHA-256 is compared with what was written. Integrity and data errors are
raised at once: the same statement would fail the same way.

When the database still will not take the record, it is written to the file
backup (``backend/services/backups.py``) and ``flask quire recover`` replays it
later. Each write is a compare-and-set with three fences (``Mode``): the first
try's, a repair's (the row still carries this very write: the commit's answer
was lost, or the stored value differed), and a replay's (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, FromClause, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from backend.database import autocommit_connection, classify_db_error, is_transient_db_error
from backend.extensions import db
from backend.metrics import PERSISTENCE_BACKUPS, PERSISTENCE_RETRIES, PERSISTENCE_VERIFY_FAILURES
from backend.models import ChunkStatus, Job, JobChunk, JobStatus, User
from backend.models.job import ACTIVE_JOB_STATUSES, TERMINAL_JOB_STATUSES, PersistenceStatus
from backend.models.types import UtcDateTime
from backend.services import backups, runtime
from backend.services.backups import BackupRecord, digest, jsonable

log = logging.getLogger(__name__)

UPLOAD, CHUNK_RESULT, JOB_RESULT = backups.KINDS


class Outcome(enum.StrEnum):
    SAVED = "saved"  # in the database, its stored values verified
    NOT_APPLIED = "not_applied"  # the fence did not match: someone else owns the row now
    BACKED_UP = "backed_up"  # in the file backup, waiting for ``flask quire recover``


class Mode(enum.Enum):
    FIRST = "first"
    REPAIR = "repair"
    REPLAY = "replay"


class VerificationError(Exception):
    """What the database returned is not what was written (after every retry)."""


def backoff_delays() -> list[float]:
    """The waits before each retry: base × 1, 2, 4 … (0.5, 1, 2 s by default)."""
    settings = runtime.settings()
    base = max(0.0, settings.persist_backoff_seconds)
    return [base * 2.0**n for n in range(settings.persist_retries)]


# ---------------------------------------------------------------- the three writes


def save_chunk_result(
    job_id: str,
    chunk_pk: int,
    attempts: int,
    values: Mapping[str, Any],
    conn: Connection | None = None,
) -> Outcome:
    """Record a chunk's outcome if attempt ``attempts`` still holds the row (commits).

    ``conn``: the attempt's autocommit connection, for the first try (retries
    take fresh ones from the pool).
    """
    record = BackupRecord(
        kind=CHUNK_RESULT,
        job_id=job_id,
        chunk_pk=chunk_pk,
        fence={"attempts": attempts},
        payload=jsonable(values),
    )
    return _save(record, conn)


def save_job_result(job_id: str, round_no: int, values: Mapping[str, Any]) -> Outcome:
    """Set a job's final state and result if round ``round_no`` is still its active one."""
    payload = jsonable({**values, "finalized_round": round_no})
    return _save(
        BackupRecord(kind=JOB_RESULT, job_id=job_id, fence={"round": round_no}, payload=payload)
    )


def save_upload(values: Mapping[str, Any]) -> Outcome:
    """Insert a new job row (its blob is already stored)."""
    payload = jsonable(values)
    return _save(BackupRecord(kind=UPLOAD, job_id=str(payload["id"]), payload=payload))


# ---------------------------------------------------------------- retry, verify, back up


def _save(record: BackupRecord, conn: Connection | None = None) -> Outcome:
    where = _describe(record)
    error: BaseException | None = None
    for attempt, delay in enumerate([0.0, *backoff_delays()]):
        if attempt:
            PERSISTENCE_RETRIES.labels(kind=record.kind).inc()
            log.warning("%s: retry %d in %.2f s after %s", where, attempt, delay, _name(error))
            time.sleep(delay)
        try:
            stored = _write(record, retrying=attempt > 0, conn=conn)
        except SQLAlchemyError as exc:
            _rollback()
            if not is_transient_db_error(exc):
                raise
            error = exc
            continue
        if stored is None:
            return Outcome.NOT_APPLIED
        if digest(stored) == record.sha256:
            return Outcome.SAVED
        PERSISTENCE_VERIFY_FAILURES.labels(kind=record.kind).inc()
        log.error(
            "%s: what was stored differs from what was written (sha256 %s, stored %s)",
            where,
            record.sha256[:12],
            digest(stored)[:12],
        )
        error = VerificationError(f"{where}: the stored record differs from what was written")
    return _back_up(record, error)


def _write(
    record: BackupRecord, *, retrying: bool, conn: Connection | None = None
) -> dict[str, Any] | None:
    """One try: the compare-and-set, committed; the stored values, or None (fence missed).

    The values come from the statement's ``RETURNING``: what the row holds once
    the database has applied the write (types, triggers, everything), read in
    the same round trip. A chunk result is one statement on an autocommit
    connection (the hot path: no ``BEGIN``/``COMMIT`` round trips; the pool's
    pre-ping checks the connection first). A job result or an upload joins the
    session's transaction (finalize took its round in it) and commits it.
    After a failed try the commit may have landed anyway (its answer was lost)
    or stored a wrong value: then the row carries this very write, and the
    repair fence finds it. Every retry starts with ``SELECT 1``, the health
    check that the database is back.
    """
    if record.kind == CHUNK_RESULT:
        if conn is not None and not retrying:
            return apply(record, Mode.FIRST, conn)
        with autocommit_connection() as fresh:
            if retrying:
                fresh.execute(text("SELECT 1"))
            stored = apply(record, Mode.FIRST, fresh)
            if stored is None and retrying:
                stored = apply(record, Mode.REPAIR, fresh)
        return stored
    if retrying:
        db.session.execute(text("SELECT 1"))
    stored = apply(record, Mode.FIRST)
    if stored is None and retrying:
        stored = apply(record, Mode.REPAIR)
    db.session.commit()
    return stored


def _back_up(record: BackupRecord, error: BaseException | None) -> Outcome:
    settings = runtime.settings()
    reason = _name(error)
    try:
        path = backups.write(settings.backup_root, replace(record, error=reason))
    except OSError:
        log.critical(
            "%s: the database refused it (%s) and the backup in %s failed too",
            _describe(record),
            reason,
            settings.backup_root,
            exc_info=True,
        )
        if error is not None:
            raise error from None
        raise
    PERSISTENCE_BACKUPS.labels(kind=record.kind).inc()
    log.error("%s: database unavailable (%s); backed up to %s", _describe(record), reason, path)
    if record.kind != UPLOAD:
        # Best effort: it succeeds when the database is up but stored a wrong value.
        mark_job(record.job_id, PersistenceStatus.BACKED_UP)
    return Outcome.BACKED_UP


def mark_job(job_id: str, status: PersistenceStatus) -> bool:
    """Set ``jobs.persistence_status``; False (logged) when the database is unreachable."""
    try:
        db.session.execute(
            update(Job).where(Job.id == job_id).values(persistence_status=status.value)
        )
        db.session.commit()
    except SQLAlchemyError as exc:
        _rollback()
        log.warning("job %s: could not set persistence_status %s (%s)", job_id, status, _name(exc))
        return False
    return True


def _rollback() -> None:
    # After a lost connection the rollback itself may fail; the session is reset either way.
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()


def _name(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    if isinstance(error, SQLAlchemyError):
        return f"{classify_db_error(error)} ({type(error).__name__})"
    return f"{type(error).__name__}: {error}"


def _describe(record: BackupRecord) -> str:
    if record.kind == CHUNK_RESULT:
        return f"job {record.job_id} chunk {record.chunk_pk} attempt {record.fence.get('attempts')}"
    if record.kind == JOB_RESULT:
        return f"job {record.job_id} round {record.fence.get('round')} result"
    return f"job {record.job_id} upload"


# ---------------------------------------------------------------- statements


def _decode(table: FromClause, payload: Mapping[str, Any]) -> dict[str, Any]:
    """JSON payload back to column values (ISO strings to datetimes)."""
    values: dict[str, Any] = {}
    for name, value in payload.items():
        column = table.c[name]
        if isinstance(column.type, UtcDateTime) and isinstance(value, str):
            values[name] = datetime.fromisoformat(value)
        else:
            values[name] = value
    return values


# The session (joins its transaction) or an autocommit connection (one statement).
Executor = Any


def apply(record: BackupRecord, mode: Mode, on: Executor | None = None) -> dict[str, Any] | None:
    """Run the record's compare-and-set (no commit) on ``on`` (default: the session).

    Returns the stored values of the payload's columns (``RETURNING``, JSON
    types), or None when the row did not match the fence.
    """
    executor: Executor = db.session if on is None else on
    if record.kind == CHUNK_RESULT:
        return _apply_chunk(record, mode, executor)
    if record.kind == JOB_RESULT:
        return _apply_job(record, mode, executor)
    return _apply_upload(record, mode, executor)


def _returned(
    record: BackupRecord, table: FromClause, statement: Any, on: Executor
) -> dict[str, Any] | None:
    """``statement`` returning the payload's columns; the stored values, or None."""
    columns = [table.c[name] for name in record.payload]
    row = on.execute(statement.returning(*columns)).mappings().first()
    if row is None:
        return None
    stored: dict[str, Any] = jsonable(dict(row))
    return stored


def _apply_chunk(record: BackupRecord, mode: Mode, on: Executor) -> dict[str, Any] | None:
    values = _decode(JobChunk.__table__, record.payload)
    attempts = int(record.fence["attempts"])
    status = values.get("status")
    terminal = [s.value for s in TERMINAL_JOB_STATUSES]
    unfinished = JobChunk.job_id.in_(select(Job.id).where(Job.status.not_in(terminal)))
    fence: list[ColumnElement[bool]] = [
        JobChunk.id == record.chunk_pk,
        JobChunk.job_id == record.job_id,
    ]
    if mode is Mode.FIRST:
        fence += [JobChunk.status == ChunkStatus.PROCESSING.value, JobChunk.attempts == attempts]
    elif mode is Mode.REPAIR:
        fence += [JobChunk.status == status, JobChunk.attempts == attempts, unfinished]
    else:
        # A result is worth keeping whatever happened since, unless the chunk has
        # one already or was cancelled; any other outcome only while its attempt
        # still holds the row. Never under a job that has finished.
        fence.append(unfinished)
        if status == ChunkStatus.SUCCESS.value:
            done = [ChunkStatus.SUCCESS.value, ChunkStatus.CANCELLED.value]
            fence.append(JobChunk.status.not_in(done))
        else:
            fence += [
                JobChunk.status == ChunkStatus.PROCESSING.value,
                JobChunk.attempts == attempts,
            ]
    statement = update(JobChunk).where(*fence).values(**values)
    return _returned(record, JobChunk.__table__, statement, on)


def _apply_job(record: BackupRecord, mode: Mode, on: Executor) -> dict[str, Any] | None:
    values = _decode(Job.__table__, record.payload)
    round_no = int(record.fence["round"])
    active = Job.status.in_([s.value for s in ACTIVE_JOB_STATUSES])
    fence: list[ColumnElement[bool]] = [Job.id == record.job_id, Job.round == round_no]
    if mode is Mode.FIRST:
        # finalized_round == round when this transaction took the round itself;
        # below it when a retry redoes the take that a rollback undid.
        fence += [active, Job.finalized_round <= round_no]
    elif mode is Mode.REPAIR:
        fence += [Job.status == values["status"], Job.finalized_round == round_no]
    else:
        fence.append(active)
    return _returned(record, Job.__table__, update(Job).where(*fence).values(**values), on)


def _apply_upload(record: BackupRecord, mode: Mode, on: Executor) -> dict[str, Any] | None:
    values = _decode(Job.__table__, record.payload)
    if mode is Mode.REPAIR:
        statement = (
            update(Job)
            .where(Job.id == record.job_id, Job.status == JobStatus.QUEUED.value)
            .values(**values)
        )
        return _returned(record, Job.__table__, statement, on)
    if on.scalar(select(Job.id).where(Job.id == record.job_id)) is not None:
        return None
    owner = select(User.id).where(User.id == values["owner_id"])
    if mode is Mode.REPLAY and on.scalar(owner) is None:
        return None  # the owner was deleted meanwhile: nobody to give the job to
    return _returned(record, Job.__table__, insert(Job).values(**values), on)
