"""Retention: old audit entries are deleted; finished jobs lose their input blobs.

``purge_audit_logs`` deletes ``audit_logs`` rows older than
``QUIRE_AUDIT_RETENTION_DAYS`` (30–365, default 90). ``purge_finished_blobs``
deletes the uploaded PDF and the chunk PDFs of jobs finished more than
``QUIRE_BLOB_RETENTION_DAYS`` ago (0 keeps them forever). Rows stay, and so
does the merged result, which is what a user downloads; a retry of such a job
then fails its chunks with ``BLOB_MISSING``. Both run daily on beat and are
idempotent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from backend.extensions import db
from backend.models import AuditLog, Job, JobChunk
from backend.models.job import TERMINAL_JOB_STATUSES
from backend.models.types import utcnow
from backend.services import runtime

log = logging.getLogger(__name__)

BLOB_BATCH = 500


def purge_audit_logs(now: datetime | None = None) -> int:
    """Delete audit entries older than the retention period; returns how many."""
    days = runtime.settings().audit_retention_days
    cutoff = (now or utcnow()) - timedelta(days=days)
    result = db.session.execute(delete(AuditLog).where(AuditLog.created_at < cutoff))
    db.session.commit()
    deleted = int(getattr(result, "rowcount", 0) or 0)
    log.info("retention: deleted %d audit entries older than %d days", deleted, days)
    _count("audit_logs", deleted)
    return deleted


def purge_finished_blobs(now: datetime | None = None) -> int:
    """Delete input blobs of jobs finished before the cutoff; returns how many jobs lost blobs."""
    days = runtime.settings().blob_retention_days
    if days == 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    store = runtime.blobs()
    jobs = db.session.execute(
        select(Job.id, Job.source_key)
        .where(
            Job.status.in_([s.value for s in TERMINAL_JOB_STATUSES]),
            Job.finished_at < cutoff,
        )
        .order_by(Job.finished_at)
    ).all()
    purged = 0
    for job in jobs:
        if not store.exists(job.source_key):
            continue  # done on an earlier run
        keys = db.session.scalars(select(JobChunk.storage_key).where(JobChunk.job_id == job.id))
        for key in [*keys, job.source_key]:
            store.delete(key)
        log.info("job %s: input blobs deleted (finished more than %d days ago)", job.id, days)
        purged += 1
        if purged >= BLOB_BATCH:
            break  # the next run continues; one run stays short
    db.session.rollback()
    _count("job_blobs", purged)
    return purged


def _count(kind: str, amount: int) -> None:
    from backend.metrics import RETENTION_DELETED

    RETENTION_DELETED.labels(kind=kind).inc(amount)
