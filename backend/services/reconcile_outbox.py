"""The outbox half of the reconciler: publish for jobs left ``dispatch_pending``.

A publish that failed (broker down, Redis refusing writes) leaves the job's
``dispatch_pending`` set (``services/dispatch.py``). Here each such job gets
what its state needs: a ``queued`` job its ``split_job``; a ``processing`` or
``retrying`` job a chord over its waiting chunks (and any whose lease expired)
with the finalize of its current round. The flag is cleared by a
compare-and-set naming the row as it was read, and only after the publish
succeeded: a job that changed meanwhile keeps its flag and is looked at again
next run (a duplicate message is harmless, a lost one is not).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select, update

from backend.extensions import db
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.job import TERMINAL_JOB_STATUSES
from backend.services import dispatch

log = logging.getLogger(__name__)

# Jobs published per run: a broker that just came back is not flooded at once.
OUTBOX_BATCH = 500
WAITING = (ChunkStatus.PENDING.value, ChunkStatus.RETRY_SCHEDULED.value)


def publish_outbox(now: datetime) -> tuple[list[str], list[str]]:
    """(a) Publish for every ``dispatch_pending`` job; returns (published, failed) job ids."""
    rows = db.session.execute(
        select(Job.id, Job.status, Job.round, Job.updated_at)
        .where(Job.dispatch_pending.is_(True))
        .order_by(Job.created_at)
        .limit(OUTBOX_BATCH)
    ).all()
    db.session.rollback()  # no transaction held across the publishes
    published: list[str] = []
    failed: list[str] = []
    for job_id, status, round_no, updated_at in rows:
        if status == JobStatus.QUEUED.value:
            log.warning("reconcile: job %s: publishing its split_job from the outbox", job_id)
            ok = dispatch.publish_split(job_id)
        elif status in (JobStatus.PROCESSING.value, JobStatus.RETRYING.value):
            pks = _chunks_to_publish(job_id, now)
            log.warning(
                "reconcile: job %s round %d: publishing chunks %s from the outbox",
                job_id,
                round_no,
                pks,
            )
            ok = dispatch.publish_round(job_id, pks, round_no)
        elif status in TERMINAL_JOB_STATUSES:
            ok = True  # nothing left to publish: just drop the flag
        else:
            continue  # splitting or paused: the split claim or a resume owns the flag
        if not ok:
            failed.append(job_id)
            continue
        published.append(job_id)
        _clear_flag(job_id, status, round_no, updated_at)
    return published, failed


def _chunks_to_publish(job_id: str, now: datetime) -> list[int]:
    """Chunks no live message can be moving: waiting ones, and expired leases."""
    pks = list(
        db.session.scalars(
            select(JobChunk.id)
            .where(
                JobChunk.job_id == job_id,
                or_(
                    JobChunk.status.in_(WAITING),
                    (JobChunk.status == ChunkStatus.PROCESSING.value)
                    & (JobChunk.lease_expires_at < now),
                ),
            )
            .order_by(JobChunk.chunk_id)
        )
    )
    db.session.rollback()
    return pks


def _clear_flag(job_id: str, status: str, round_no: int, updated_at: datetime) -> None:
    """``dispatch_pending → false`` if the job is still exactly as read."""
    cleared = (
        db.session.execute(
            update(Job)
            .where(
                Job.id == job_id,
                Job.dispatch_pending.is_(True),
                Job.status == status,
                Job.round == round_no,
                Job.updated_at == updated_at,
            )
            .values(dispatch_pending=False)
            .returning(Job.id)
        ).first()
        is not None
    )
    db.session.commit()
    if not cleared:
        log.info("reconcile: job %s changed while publishing; its flag is left as it is", job_id)
