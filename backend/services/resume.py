"""Resume ``paused_quota`` jobs once their quota window has passed (a reconciler step).

A job whose processor quota ran out is paused by finalize with ``resume_at``
set (``QUIRE_QUOTA_RESUME_SECONDS`` ahead). Once that moment has passed this
step sends its failed chunks back to work through the manual retry's own code
path (``retry.retry_chunks`` as the system), whose compare-and-set on the
job's status *and* round means a manual retry and the reconciler cannot both
resume it: the second finds the round moved and does nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from backend.errors import QuireError
from backend.extensions import db
from backend.models import Job, JobStatus
from backend.services import retry
from backend.services.states import job_cas

log = logging.getLogger(__name__)

PAUSED = (JobStatus.PAUSED_QUOTA.value,)


def resume_due_jobs(now: datetime) -> list[str]:
    """Resume every paused job whose ``resume_at`` is at or before ``now``; their ids."""
    due = list(
        db.session.scalars(
            select(Job.id)
            .where(
                Job.status == JobStatus.PAUSED_QUOTA.value,
                Job.resume_at <= now,
                Job.cancel_requested_at.is_(None),
            )
            .order_by(Job.resume_at)
        )
    )
    db.session.rollback()
    resumed: list[str] = []
    for job_id in due:
        if _resume(job_id):
            resumed.append(job_id)
    return resumed


def _resume(job_id: str) -> bool:
    # A fresh read: the round in it is what the retry's compare-and-set names.
    job = db.session.execute(
        select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if job is None or job.status != JobStatus.PAUSED_QUOTA.value:
        db.session.rollback()
        return False  # deleted, cancelled or resumed by hand meanwhile
    try:
        outcome = retry.retry_chunks(job, None, expected=PAUSED)
    except QuireError as exc:
        db.session.rollback()
        if exc.code == "JOB_STATE_CONFLICT":
            log.info("job %s: not resumed, it changed meanwhile (%s)", job_id, exc.message)
            return False
        # Nothing a later run could change (no failed chunk, inputs deleted):
        # stop trying every minute; the job stays paused for a person to look at.
        job_cas(job_id, PAUSED, resume_at=None)
        db.session.commit()
        log.warning("job %s: cannot resume after the quota window: %s", job_id, exc.message)
        return False
    except Exception:
        db.session.rollback()
        log.exception("job %s: resume failed; the next reconcile tries again", job_id)
        return False
    log.warning(
        "job %s: resumed after the quota window: %d chunks, round %d",
        job_id,
        outcome.retried_count,
        outcome.round,
    )
    return True
