"""Writing the audit trail, inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from backend.extensions import db
from backend.models import AuditLog
from backend.services.snapshots import bounded


def record(action: str, user_id: int | None, job_id: str | None, **details: Any) -> None:
    """Add an audit entry; its details are a bounded snapshot (services/snapshots.py)."""
    db.session.add(
        AuditLog(action=action, user_id=user_id, job_id=job_id, details=bounded(details))
    )
