"""reconcile: re-publish what lost messages left behind, reading rows as the truth.

A chord is a fast trigger, not a record: Redis can be flushed or evict keys, a
worker can die holding a chunk, a publish can fail while the broker is down.
Every minute (Celery beat, the embedded loop, or ``flask quire reconcile``) this
service looks for rows that no message will move any more and publishes again:

a. outbox: jobs left ``dispatch_pending`` by a failed publish;
b. chunks ``pending``/``retry_scheduled`` of a job quiet for longer than
   ``QUIRE_REDISPATCH_AFTER_SECONDS`` (plus the round's countdown);
c. chunks ``processing`` under an expired lease (a dead worker);
d. active jobs whose chunks are all terminal (the chord's finalize never ran);
e. ``queued`` jobs never split, and ``splitting`` jobs whose lease expired;
f. ``paused_quota`` jobs whose ``resume_at`` has passed (``services/resume.py``).

Re-publishing is always safe: ``process_chunk`` and ``split_job`` claim their
row by compare-and-set and finalize elects itself on ``finalized_round``, so a
duplicate message does nothing. Each repair first stamps the rows it takes
(``updated_at = now``, itself a compare-and-set), so concurrent runs never take
the same row and a row is re-published at most once per threshold.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import aliased

from backend.extensions import db
from backend.metrics import RECONCILER_REPAIRS
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.chunk import TERMINAL_CHUNK_STATUSES
from backend.models.types import utcnow
from backend.services import dispatch, finalize, resume, runtime
from backend.services.reconcile_outbox import publish_outbox

log = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key: "QUIR" in ASCII. One reconciler at a time cluster-wide.
ADVISORY_LOCK_KEY = 0x51554952
# SQLite means embedded mode: one process, so a process-local lock is enough.
_local_lock = threading.Lock()

ACTIVE = (JobStatus.PROCESSING.value, JobStatus.RETRYING.value)
WAITING = (ChunkStatus.PENDING.value, ChunkStatus.RETRY_SCHEDULED.value)
UNFINISHED = [s.value for s in ChunkStatus if s not in TERMINAL_CHUNK_STATUSES]


@dataclass(frozen=True)
class ReconcileReport:
    """What one run repaired, by kind, with the ids it touched."""

    skipped: bool = False
    outbox_jobs: tuple[str, ...] = ()
    stale_chunks: tuple[int, ...] = ()
    expired_lease_chunks: tuple[int, ...] = ()
    cancelled_chunks: tuple[int, ...] = ()
    finalized_jobs: tuple[str, ...] = ()
    split_jobs: tuple[str, ...] = ()
    resumed_jobs: tuple[str, ...] = ()
    failed_publishes: tuple[str, ...] = ()

    def counts(self) -> dict[str, int]:
        return {f.name: len(getattr(self, f.name)) for f in fields(self) if f.name != "skipped"}

    @property
    def repairs(self) -> int:
        """Rows repaired (failed publishes are not repairs: they stay in the outbox)."""
        return sum(n for kind, n in self.counts().items() if kind != "failed_publishes")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "counts": self.counts()}


def reconcile(now: datetime | None = None) -> ReconcileReport:
    """Run every repair once; skip (``skipped=True``) if another run holds the lock.

    ``now`` is the moment the thresholds and leases are compared with (tests
    pass one to age rows without sleeping).
    """
    now = now or utcnow()
    with _exclusive() as acquired:
        if not acquired:
            log.info("reconcile: another run holds the lock; skipped")
            return ReconcileReport(skipped=True)
        report = _run(now)
    for kind, count in report.counts().items():
        if count and kind != "failed_publishes":
            RECONCILER_REPAIRS.labels(kind=kind).inc(count)
    if report.repairs or report.failed_publishes:
        log.warning("reconcile: %s", report.counts())
    else:
        log.info("reconcile: nothing to repair")
    return report


@contextlib.contextmanager
def _exclusive() -> Iterator[bool]:
    """Postgres: a transaction-scoped advisory lock on a connection of its own.

    The services commit as they go, which would end a lock taken on the session's
    transaction; the lock's own connection keeps its transaction open until the
    run ends (and a dead process's connection releases it).
    """
    if db.engine.dialect.name != "postgresql":
        acquired = _local_lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                _local_lock.release()
        return
    with db.engine.connect() as conn:
        acquired = bool(conn.scalar(select(func.pg_try_advisory_xact_lock(ADVISORY_LOCK_KEY))))
        try:
            yield acquired
        finally:
            conn.rollback()


def _run(now: datetime) -> ReconcileReport:
    cutoff = now - timedelta(seconds=runtime.settings().redispatch_after_seconds)
    outbox_jobs, failed = publish_outbox(now)
    stale = _take_stale_chunks(now, cutoff)
    expired = _take_expired_leases(now, cutoff)
    cancelled = _cancel_orphaned_chunks(now)
    failed += _redispatch(stale, expired)
    finalized = _finalize_orphaned_jobs()
    split, split_failed = _republish_splits(now, cutoff)
    resumed = resume.resume_due_jobs(now)
    return ReconcileReport(
        outbox_jobs=tuple(outbox_jobs),
        stale_chunks=tuple(sorted(pk for pks in stale.values() for pk in pks)),
        expired_lease_chunks=tuple(sorted(pk for pks in expired.values() for pk in pks)),
        cancelled_chunks=tuple(cancelled),
        finalized_jobs=tuple(finalized),
        split_jobs=tuple(split),
        resumed_jobs=tuple(resumed),
        failed_publishes=tuple(sorted(set(failed + split_failed))),
    )


def _countdown_bound(retry_count: int, retry_after: float | None) -> float:
    """The longest countdown the job's current automatic round may have been given."""
    if retry_count < 1:
        return 0.0
    return finalize.retry_countdown(retry_count, retry_after or 0.0) * finalize.RETRY_JITTER


def _take_stale_chunks(now: datetime, cutoff: datetime) -> dict[str, list[int]]:
    """(b) Waiting chunks of jobs where nothing moved since ``cutoff``: their messages are gone.

    A job whose chunks are still being claimed or finished is only slow (its
    messages wait in a long queue); its waiting chunks are left alone. A
    ``retry_scheduled`` chunk also waits out its round's countdown first.
    """
    recent = aliased(JobChunk)
    job_is_busy = exists().where(recent.job_id == JobChunk.job_id, recent.updated_at >= cutoff)
    rows = db.session.execute(
        select(JobChunk.id, JobChunk.status, JobChunk.updated_at, JobChunk.retry_after_seconds)
        .add_columns(Job.retry_count)
        .join(Job, Job.id == JobChunk.job_id)
        .where(
            Job.status.in_(ACTIVE),
            Job.dispatch_pending.is_(False),
            Job.cancel_requested_at.is_(None),
            JobChunk.status.in_(WAITING),
            JobChunk.updated_at < cutoff,
            ~job_is_busy,
        )
    ).all()
    due = [
        row.id
        for row in rows
        if row.status == ChunkStatus.PENDING.value
        or row.updated_at
        < cutoff - timedelta(seconds=_countdown_bound(row.retry_count, row.retry_after_seconds))
    ]
    if not due:
        return {}
    taken = db.session.execute(
        update(JobChunk)
        .where(JobChunk.id.in_(due), JobChunk.status.in_(WAITING), JobChunk.updated_at < cutoff)
        .values(updated_at=now)
        .returning(JobChunk.id, JobChunk.job_id)
    ).all()
    db.session.commit()
    return _by_job(taken)


def _take_expired_leases(now: datetime, cutoff: datetime) -> dict[str, list[int]]:
    """(c) Chunks ``processing`` under an expired lease: their worker died.

    Taken the first time right after expiry (``updated_at`` is the claim time,
    before the lease end); once stamped, again only after the threshold, so a
    long queue does not collect a copy per run.
    """
    taken = db.session.execute(
        update(JobChunk)
        .where(
            JobChunk.status == ChunkStatus.PROCESSING.value,
            JobChunk.lease_expires_at < now,
            or_(JobChunk.updated_at < JobChunk.lease_expires_at, JobChunk.updated_at < cutoff),
            JobChunk.job_id.in_(
                select(Job.id).where(
                    Job.status.in_(ACTIVE),
                    Job.dispatch_pending.is_(False),
                    Job.cancel_requested_at.is_(None),
                )
            ),
        )
        .values(updated_at=now)
        .returning(JobChunk.id, JobChunk.job_id)
    ).all()
    db.session.commit()
    return _by_job(taken)


def _cancel_orphaned_chunks(now: datetime) -> list[int]:
    """Chunks of a cancelled job left ``processing`` by a dead worker → ``cancelled``.

    ``claim_chunk`` refuses a cancelled job's rows, so no delivery would ever
    end them and the job would wait for them forever.
    """
    cancelled = db.session.scalars(
        update(JobChunk)
        .where(
            JobChunk.status == ChunkStatus.PROCESSING.value,
            JobChunk.lease_expires_at < now,
            JobChunk.job_id.in_(
                select(Job.id).where(Job.status.in_(ACTIVE), Job.cancel_requested_at.is_not(None))
            ),
        )
        .values(status=ChunkStatus.CANCELLED.value, lease_expires_at=None, updated_at=now)
        .returning(JobChunk.id)
    ).all()
    db.session.commit()
    if cancelled:
        log.warning("reconcile: cancelled chunks %s of cancelled jobs (dead workers)", cancelled)
    return sorted(cancelled)


def _redispatch(stale: dict[str, list[int]], expired: dict[str, list[int]]) -> list[str]:
    """One chord per job over its taken chunks, with the finalize of its current round."""
    merged: dict[str, list[int]] = defaultdict(list)
    for taken in (stale, expired):
        for job_id, pks in taken.items():
            merged[job_id].extend(pks)
    failed: list[str] = []
    for job_id, pks in sorted(merged.items()):
        round_no = db.session.scalar(select(Job.round).where(Job.id == job_id))
        if round_no is None:
            continue  # deleted meanwhile
        log.warning(
            "reconcile: job %s round %d: re-dispatching chunks %s (stale %s, expired lease %s)",
            job_id,
            round_no,
            sorted(pks),
            sorted(stale.get(job_id, [])),
            sorted(expired.get(job_id, [])),
        )
        if not dispatch.publish_round(job_id, sorted(pks), round_no):
            failed.append(job_id)
    return failed


def _finalize_orphaned_jobs() -> list[str]:
    """(d) Active jobs whose chunks are all terminal: run finalize (it is a CAS)."""
    chunk = aliased(JobChunk)
    rows = db.session.execute(
        select(Job.id, Job.round).where(
            Job.status.in_(ACTIVE),
            exists().where(chunk.job_id == Job.id),
            ~exists().where(chunk.job_id == Job.id, chunk.status.in_(UNFINISHED)),
        )
    ).all()
    db.session.rollback()
    finalized: list[str] = []
    for job_id, round_no in rows:
        try:
            outcome = finalize.finalize_job(job_id, round_no)
        except Exception:
            db.session.rollback()
            log.exception("reconcile: job %s: finalize failed; next run tries again", job_id)
            continue
        if outcome not in ("waiting", "skipped"):
            log.warning("reconcile: job %s: its finalize never ran; now %s", job_id, outcome)
            finalized.append(job_id)
    return finalized


def _republish_splits(now: datetime, cutoff: datetime) -> tuple[list[str], list[str]]:
    """(e) ``queued`` jobs untouched since ``cutoff``; ``splitting`` jobs under an expired lease."""
    queued = (
        (Job.status == JobStatus.QUEUED.value)
        & Job.dispatch_pending.is_(False)
        & (Job.updated_at < cutoff)
    )
    dead_split = (
        (Job.status == JobStatus.SPLITTING.value)
        & (Job.lease_expires_at < now)
        & or_(Job.updated_at < Job.lease_expires_at, Job.updated_at < cutoff)
    )
    taken = db.session.scalars(
        update(Job)
        .where(Job.cancel_requested_at.is_(None), or_(queued, dead_split))
        .values(updated_at=now)
        .returning(Job.id)
    ).all()
    db.session.commit()
    failed = []
    for job_id in sorted(taken):
        log.warning("reconcile: job %s: split_job lost or its worker died; re-publishing", job_id)
        if not dispatch.publish_split(job_id):
            failed.append(job_id)
    return sorted(taken), failed


def _by_job(rows: Any) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = defaultdict(list)
    for pk, job_id in rows:
        grouped[job_id].append(pk)
    return dict(grouped)
