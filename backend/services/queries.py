"""Read-side helpers shared by services and the API."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.extensions import db
from backend.models import ChunkStatus, JobChunk


def chunk_counts(job_id: str) -> dict[str, int]:
    """Chunks of a job by status, every status present (one indexed query)."""
    rows = db.session.execute(
        select(JobChunk.status, func.count())
        .where(JobChunk.job_id == job_id)
        .group_by(JobChunk.status)
    ).all()
    counts = {status.value: 0 for status in ChunkStatus}
    counts.update({status: int(n) for status, n in rows})
    return counts


def unfinished(counts: dict[str, int]) -> int:
    return (
        counts[ChunkStatus.PENDING.value]
        + counts[ChunkStatus.PROCESSING.value]
        + counts[ChunkStatus.RETRY_SCHEDULED.value]
    )
