"""``fallback=local``: chunks a paid processor could not do are redone by the local one.

A job uploaded with ``fallback=local`` does not end ``partial``/``failed``
because its LLM failed some chunks: once their retry rounds are spent, finalize
sends those chunks through one more chord round (``dispatch.publish_round``,
the same path as a retry round) with the local processor. The chunks that
fall back are recorded in ``jobs.options["fallback_chunks"]`` (rows are the
truth: a re-dispatch by the reconciler still runs them locally), and the
result names them, so nobody mistakes a local cut for the model's rewrite.

Only failures of the *model* fall back (``FALLBACK_CODES``): a chunk whose PDF
cannot be read (``INVALID_PDF``, ``NO_TEXT``, ``PDF_TOO_COMPLEX``,
``WORKER_LOST``, …) would fail the local processor the same way.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select, update

from backend.extensions import db
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.types import utcnow
from backend.services import dispatch

log = logging.getLogger(__name__)

LOCAL = "local"
FALLBACK_CODES = frozenset(
    {
        "RATE_LIMITED",
        "QUOTA_EXHAUSTED",
        "LLM_TIMEOUT",
        "LLM_BAD_OUTPUT",
        "LLM_UNAVAILABLE",
        # Permanent for the model, not for the text: local has no safety filter
        # and no credentials to refuse.
        "CONTENT_BLOCKED",
        "LLM_AUTH_FAILED",
        "LLM_REQUEST_REJECTED",
        "PROCESSOR_NOT_CONFIGURED",
        "PROCESSOR_ERROR",
        "TRANSIENT_ERROR",
    }
)


def enabled(job: Job) -> bool:
    """The job asked for ``fallback=local`` and does not already run locally."""
    return (job.options or {}).get("fallback") == LOCAL and job.processor != LOCAL


def fallback_chunk_ids(options: dict[str, Any] | None) -> frozenset[int]:
    """The chunk ids (``chunk_id``, not primary keys) handed to the local processor."""
    return frozenset(int(i) for i in (options or {}).get("fallback_chunks", []))


def processor_for(processor: str, options: dict[str, Any] | None, chunk_id: int) -> str:
    """The processor that must run chunk ``chunk_id`` of a job (its processor and options)."""
    return LOCAL if chunk_id in fallback_chunk_ids(options) else processor


def candidates(job: Job) -> list[tuple[int, int]]:
    """``(pk, chunk_id)`` of failed chunks whose error falls back and that did not yet."""
    done = fallback_chunk_ids(job.options)
    rows = db.session.execute(
        select(JobChunk.id, JobChunk.chunk_id)
        .where(
            JobChunk.job_id == job.id,
            JobChunk.status == ChunkStatus.FAILED.value,
            JobChunk.last_error_code.in_(sorted(FALLBACK_CODES)),
        )
        .order_by(JobChunk.chunk_id)
    ).all()
    return [(pk, chunk_id) for pk, chunk_id in rows if chunk_id not in done]


def schedule_round(job: Job, chunks: list[tuple[int, int]]) -> str:
    """Mark ``chunks`` for the local processor and dispatch them as the next round.

    The caller (finalize) holds the round; no retry round is spent on it.
    """
    next_round = job.round + 1
    chunk_ids = sorted(fallback_chunk_ids(job.options) | {cid for _, cid in chunks})
    pks = [pk for pk, _ in chunks]
    db.session.execute(
        update(JobChunk)
        .where(JobChunk.id.in_(pks), JobChunk.status == ChunkStatus.FAILED.value)
        # The delivery cap counts the local processor's own tries; ``attempts``
        # (the outcome's fencing token) keeps counting, never repeats.
        .values(status=ChunkStatus.RETRY_SCHEDULED.value, lost_deliveries=0, updated_at=utcnow())
    )
    db.session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            round=next_round,
            status=JobStatus.RETRYING.value,
            step=f"local fallback for {len(pks)} {'chunk' if len(pks) == 1 else 'chunks'}",
            options={**(job.options or {}), "fallback_chunks": chunk_ids},
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    log.warning(
        "job %s: chunks %s exhausted the %s processor; local fallback in round %d",
        job.id,
        [cid for _, cid in chunks],
        job.processor,
        next_round,
    )
    dispatch.publish_round(job.id, pks, next_round)
    return JobStatus.RETRYING.value


def result_flags(job: Job) -> dict[str, Any]:
    """What the result says about fallen-back chunks (summary and document)."""
    ids = sorted(fallback_chunk_ids(job.options))
    if not ids:
        return {}
    done = set(
        db.session.scalars(
            select(JobChunk.chunk_id).where(
                JobChunk.job_id == job.id,
                JobChunk.chunk_id.in_(ids),
                JobChunk.status == ChunkStatus.SUCCESS.value,
            )
        )
    )
    return {
        "fallback": LOCAL,
        "fallback_chunks": [i for i in ids if i in done],
        "fallback_count": len(done),
    }
