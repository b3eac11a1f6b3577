"""Compare-and-set helpers: every state change names the state it expects."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, update

from backend.extensions import db
from backend.models import Job, JobStatus
from backend.models.types import utcnow


def job_cas(
    job_id: str,
    expected: Iterable[str],
    *conditions: ColumnElement[bool],
    **values: Any,
) -> bool:
    """``UPDATE jobs SET … WHERE id = :id AND status IN :expected [AND …]``.

    True if the row matched. Does not commit: the caller's transaction decides.
    """
    values.setdefault("updated_at", utcnow())
    result = db.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(list(expected)), *conditions)
        .values(**values)
        .returning(Job.id)
    )
    return result.first() is not None


def fail_job(job_id: str, expected: Iterable[str], code: str, message: str) -> bool:
    """Move a job to ``failed`` with an error, if it is still in ``expected``."""
    now: datetime = utcnow()
    return job_cas(
        job_id,
        expected,
        status=JobStatus.FAILED.value,
        step="failed",
        error_code=code,
        error_message=message,
        finished_at=now,
        lease_expires_at=None,
    )
