"""Read-side helpers shared by services and the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class ChunkSummary:
    """A job's chunk counts by status and what its chunks cost (tokens, cache hits)."""

    counts: dict[str, int]
    usage: dict[str, int]


def chunk_summaries(job_ids: Sequence[str]) -> dict[str, ChunkSummary]:
    """:class:`ChunkSummary` of each job in one grouped query (a page of the job list).

    Per job: chunk counts by status (as ``chunk_counts``), tokens paid for and
    cache hits, for a whole page in one query (``GET /jobs``) or one job
    (``GET /jobs/{id}``).
    """
    summaries = {
        job_id: ChunkSummary({s.value: 0 for s in ChunkStatus}, {"tokens_used": 0, "cache_hits": 0})
        for job_id in job_ids
    }
    if not summaries:
        return summaries
    rows = db.session.execute(
        select(
            JobChunk.job_id,
            JobChunk.status,
            func.count(),
            func.coalesce(func.sum(JobChunk.tokens_used), 0),
            func.count().filter(JobChunk.cache_hit.is_(True)),
        )
        .where(JobChunk.job_id.in_(list(summaries)))
        .group_by(JobChunk.job_id, JobChunk.status)
    ).all()
    for job_id, status, n, tokens, hits in rows:
        summary = summaries[job_id]
        summary.counts[status] = int(n)
        summary.usage["tokens_used"] += int(tokens)
        summary.usage["cache_hits"] += int(hits)
    return summaries
