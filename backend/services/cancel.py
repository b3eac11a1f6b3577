"""Cancel and delete jobs."""

from __future__ import annotations

import logging

from sqlalchemy import delete, update

from backend.errors import QuireError
from backend.extensions import db
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.chunk import CLAIMABLE_CHUNK_STATUSES
from backend.models.types import utcnow
from backend.services import audit, dispatch, runtime
from backend.services.queries import chunk_counts, unfinished
from backend.services.states import job_cas

log = logging.getLogger(__name__)


def cancel_job(job: Job, user_id: int) -> str:
    """Request cancellation; returns the job's status afterwards.

    Once this commits no processor call starts for the job: chunks check the
    flag when they claim their row and again just before calling the processor.
    """
    if job.is_terminal:
        raise QuireError(
            "JOB_STATE_CONFLICT", f"the job is already {job.status}", {"status": job.status}
        )
    if job.cancel_requested_at is not None:
        raise QuireError("JOB_STATE_CONFLICT", "the job is already being cancelled")
    now = utcnow()
    # A job not yet split, or paused with every chunk finished, has nothing
    # running (and no finalize to come): it is cancelled at once.
    if job_cas(
        job.id,
        [JobStatus.QUEUED.value, JobStatus.SPLITTING.value, JobStatus.PAUSED_QUOTA.value],
        status=JobStatus.CANCELLED.value,
        step="cancelled",
        cancel_requested_at=now,
        finished_at=now,
        resume_at=None,
    ):
        audit.record("cancel", user_id, job.id)
        db.session.commit()
        return JobStatus.CANCELLED.value
    db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.cancel_requested_at.is_(None))
        .values(cancel_requested_at=now, step="cancelling", updated_at=now)
    )
    db.session.execute(
        update(JobChunk)
        .where(
            JobChunk.job_id == job.id,
            JobChunk.status.in_([s.value for s in CLAIMABLE_CHUNK_STATUSES]),
        )
        .values(status=ChunkStatus.CANCELLED.value, updated_at=now)
    )
    audit.record("cancel", user_id, job.id)
    db.session.commit()
    log.info("job %s: cancel requested", job.id)
    if not unfinished(chunk_counts(job.id)):
        # Nothing is running to fire the chord: finalize now.
        dispatch.publish_finalize(job.id, job.round)
    db.session.refresh(job)
    return job.status


def delete_job(job: Job, user_id: int) -> None:
    """Delete the job, its chunks and its blobs. A running job is cancelled first."""
    # Read before the rows go: cancel_job commits, which expires ``job``.
    job_id, filename = job.id, job.filename
    if not job.is_terminal and job.cancel_requested_at is None:
        # Stop the work first; rows and files go right after, whatever is running.
        cancel_job(job, user_id)
    db.session.execute(delete(JobChunk).where(JobChunk.job_id == job_id))
    db.session.execute(delete(Job).where(Job.id == job_id))
    audit.record("delete", user_id, job_id, filename=filename)
    db.session.commit()
    runtime.blobs().delete_prefix(f"jobs/{job_id}")
    log.info("job %s: deleted", job_id)
