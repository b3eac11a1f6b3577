"""Who is calling, and which jobs they may see."""

from __future__ import annotations

import uuid

from flask_jwt_extended import get_current_user

from backend.errors import QuireError
from backend.extensions import db
from backend.models import Job, User


def current_user() -> User:
    # Loaded (and ``sub`` validated) by the user_lookup_loader of backend/api/token_checks.py.
    user: User | None = get_current_user()
    if user is None:
        raise QuireError("UNAUTHORIZED", "the token's user no longer exists")
    return user


def _is_uuid(value: str) -> bool:
    # Job ids are UUIDs; anything else (too long, NUL bytes) cannot name a job.
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def job_for(user: User, job_id: str) -> Job:
    """The job if ``user`` owns it or is an operator; anyone else gets a 404, never a 403."""
    job = db.session.get(Job, job_id) if _is_uuid(job_id) else None
    if job is None or (job.owner_id != user.id and not user.is_operator):
        raise QuireError("NOT_FOUND", f"no job {job_id}", {"job_id": job_id})
    return job
