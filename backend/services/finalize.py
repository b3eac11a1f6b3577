"""finalize_job: the chord's body. Exactly one finalize acts on a round.

It does nothing while any chunk is unfinished (an early or duplicate fire).
Otherwise a compare-and-set on ``jobs.finalized_round`` (works on SQLite, where
``SELECT … FOR UPDATE`` is ignored, and serialises on Postgres's row lock)
elects one caller, which either schedules the next automatic retry round or
merges the results and sets the final state.
"""

from __future__ import annotations

import json
import logging
import random
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from backend.extensions import db
from backend.metrics import CHUNK_RETRIES
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.job import ACTIVE_JOB_STATUSES
from backend.models.types import utcnow
from backend.pipeline.merge import MergeInput, merge_chunks
from backend.pipeline.types import ChunkOutput
from backend.services import dispatch, fallback, persistence, runtime
from backend.services.deadlock import retry_on_deadlock
from backend.services.processors import MAX_RETRY_DELAY_SECONDS
from backend.services.queries import chunk_counts, unfinished
from backend.services.result_limits import load_result
from backend.services.snapshots import bounded

log = logging.getLogger(__name__)


def _take_round(job: Job) -> bool:
    result = db.session.execute(
        update(Job)
        .where(
            Job.id == job.id,
            Job.round == job.round,
            Job.finalized_round < job.round,
            Job.status.in_([s.value for s in ACTIVE_JOB_STATUSES]),
        )
        .values(finalized_round=job.round, updated_at=utcnow())
        .returning(Job.id)
    )
    return result.first() is not None


@retry_on_deadlock
def finalize_job(job_id: str, round_no: int) -> str:
    """Finalize ``job_id`` if all its chunks are terminal; returns what happened."""
    job = db.session.get(Job, job_id)
    if job is None:
        return "missing"
    if job.is_terminal:
        return job.status
    counts = chunk_counts(job_id)
    if unfinished(counts):
        log.info(
            "job %s round %d: %d chunks unfinished; waiting", job_id, round_no, unfinished(counts)
        )
        return "waiting"
    if not _take_round(job):
        db.session.rollback()
        log.info("job %s round %d: another finalize owns this round", job_id, round_no)
        return "skipped"
    if job.cancel_requested_at is not None:
        _finish(job, JobStatus.CANCELLED, None, None, None)
        db.session.commit()
        return JobStatus.CANCELLED.value

    retryable = list(
        db.session.scalars(
            select(JobChunk.id)
            .where(
                JobChunk.job_id == job_id,
                JobChunk.status == ChunkStatus.FAILED.value,
                JobChunk.error_retryable.is_(True),
                # Rounds seconds apart cannot outlast a per-day quota: such a
                # chunk pauses the job, or falls back at once (below).
                JobChunk.last_error_code.is_distinct_from("QUOTA_EXHAUSTED"),
            )
            .order_by(JobChunk.chunk_id)
        )
    )
    local_fallback = fallback.enabled(job)
    quota_message = _quota_exhausted(job_id)
    if quota_message is not None and not local_fallback:
        return _pause_for_quota(job, quota_message)
    if retryable and job.retry_count < job.max_retries:
        return _schedule_retry_round(job, retryable)
    if local_fallback and (to_fall_back := fallback.candidates(job)):
        return fallback.schedule_round(job, to_fall_back)
    return _merge(job)


def _quota_exhausted(job_id: str) -> str | None:
    """The error of a chunk that failed on an exhausted quota, if any did."""
    return db.session.scalar(
        select(JobChunk.last_error)
        .where(
            JobChunk.job_id == job_id,
            JobChunk.status == ChunkStatus.FAILED.value,
            JobChunk.last_error_code == "QUOTA_EXHAUSTED",
        )
        .limit(1)
    )


def quota_window(job_id: str) -> float:
    """Seconds a job paused for quota waits before it resumes by itself.

    ``QUIRE_QUOTA_RESUME_SECONDS``, or longer if the 429 asked for a longer
    ``retryDelay`` (kept uncapped on ``QUOTA_EXHAUSTED`` chunks).
    """
    asked = db.session.scalar(
        select(func.max(JobChunk.retry_after_seconds)).where(
            JobChunk.job_id == job_id,
            JobChunk.status == ChunkStatus.FAILED.value,
            JobChunk.last_error_code == "QUOTA_EXHAUSTED",
        )
    )
    return max(float(runtime.settings().quota_resume_seconds), float(asked or 0.0))


def _pause_for_quota(job: Job, message: str) -> str:
    # Retry rounds minutes apart cannot outlast a per-day quota: pause without
    # spending a round. POST …/chunks/retry resumes now; the reconciler resumes
    # at ``resume_at`` (services/resume.py, docs/processors.md).
    now = utcnow()
    resume_at = now + timedelta(seconds=quota_window(job.id))
    db.session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=JobStatus.PAUSED_QUOTA.value,
            step="paused: processor quota exhausted",
            error_code="QUOTA_EXHAUSTED",
            error_message=message,
            resume_at=resume_at,
            updated_at=now,
        )
    )
    db.session.commit()
    log.warning(
        "job %s round %d: paused, processor quota exhausted; resumes at %s",
        job.id,
        job.round,
        resume_at.isoformat(),
    )
    return JobStatus.PAUSED_QUOTA.value


# Countdowns are stretched by up to this factor (jitter); the reconciler waits it out.
RETRY_JITTER = 1.2


def retry_countdown(retry_no: int, longest_retry_after: float) -> float:
    """The countdown of automatic round ``retry_no`` before jitter.

    Exponential backoff between rounds (1×, 2×, 4× … the base delay), at least
    the longest delay a processor asked for (a 429's retryDelay), capped.
    """
    backoff = runtime.settings().retry_backoff_seconds * 2.0 ** (retry_no - 1)
    return min(max(backoff, longest_retry_after), MAX_RETRY_DELAY_SECONDS)


def _longest_retry_after(chunk_pks: list[int]) -> float:
    longest = db.session.scalar(
        select(func.max(JobChunk.retry_after_seconds)).where(JobChunk.id.in_(chunk_pks))
    )
    return float(longest or 0.0)


def _schedule_retry_round(job: Job, chunk_pks: list[int]) -> str:
    next_round = job.round + 1
    retry_no = job.retry_count + 1
    CHUNK_RETRIES.labels(kind="automatic").inc(len(chunk_pks))
    db.session.execute(
        update(JobChunk)
        .where(JobChunk.id.in_(chunk_pks), JobChunk.status == ChunkStatus.FAILED.value)
        .values(status=ChunkStatus.RETRY_SCHEDULED.value, updated_at=utcnow())
    )
    db.session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            round=next_round,
            retry_count=retry_no,
            status=JobStatus.RETRYING.value,
            step=f"retry round {retry_no} of {job.max_retries}",
            updated_at=utcnow(),
        )
    )
    db.session.commit()
    # Jitter, so that jobs failed by the same outage do not all come back at once.
    jitter = random.uniform(1.0, RETRY_JITTER)  # noqa: S311 (not cryptographic)
    countdown = retry_countdown(retry_no, _longest_retry_after(chunk_pks)) * jitter
    log.info(
        "job %s: retry round %d for %d chunks in %.1fs", job.id, retry_no, len(chunk_pks), countdown
    )
    dispatch.publish_round(job.id, chunk_pks, next_round, countdown=countdown)
    return JobStatus.RETRYING.value


def _merge(job: Job) -> str:
    rows = db.session.execute(
        select(
            JobChunk.chunk_id,
            JobChunk.page_start,
            JobChunk.page_end,
            JobChunk.status,
            JobChunk.result_json,
            JobChunk.last_error_code,
            JobChunk.last_error,
        )
        .where(JobChunk.job_id == job.id)
        .order_by(JobChunk.chunk_id)
    ).yield_per(500)
    inputs = [
        MergeInput(
            chunk_id=row.chunk_id,
            page_start=row.page_start,
            page_end=row.page_end,
            output=ChunkOutput.from_dict(load_result(row.result_json))
            if row.status == ChunkStatus.SUCCESS.value and row.result_json is not None
            else None,
            error_code=row.last_error_code,
            error=row.last_error,
        )
        for row in rows
    ]
    merged = merge_chunks(inputs, runtime.settings().ocr_min_confidence)
    flags = fallback.result_flags(job)
    if not merged.failed_chunks:
        status, code, message = JobStatus.COMPLETED, None, None
    elif merged.succeeded:
        status = JobStatus.PARTIAL
        code = "PARTIAL_RESULT"
        failed = len(merged.failed_chunks)
        message = (
            f"{failed} {'chunk' if failed == 1 else 'chunks'} failed; "
            f"pages {merged.missing_ranges} are missing"
        )
    else:
        codes = Counter(f["error_code"] for f in merged.failed_chunks)
        code = codes.most_common(1)[0][0] or "PROCESSOR_ERROR"
        first = merged.failed_chunks[0]
        status = JobStatus.FAILED
        message = f"all {len(merged.failed_chunks)} chunks failed; first error: {first['error']}"

    document: dict[str, Any] = {
        "job_id": job.id,
        "filename": job.filename,
        "status": status.value,
        "page_count": job.page_count,
        "words_per_sentence": job.words_per_sentence,
        "processor": job.processor,
        **merged.to_dict(),
        **flags,
    }
    key = f"jobs/{job.id}/result.json"
    runtime.blobs().put_bytes(key, json.dumps(document, ensure_ascii=False).encode("utf-8"))
    summary = {
        "sentence_count": len(merged.sentences),
        "missing_pages": merged.missing_pages,
        "pages_without_text": merged.pages_without_text,
        "unreadable_pages": merged.unreadable_pages,
        "ocr_pages": len(merged.ocr_pages),
        "low_confidence_pages": merged.low_confidence_pages,
        "failed_chunks": len(merged.failed_chunks),
        **({"fallback_count": flags["fallback_count"]} if flags else {}),
    }
    job_id = job.id  # read now: after a backed-up finish the session cannot refresh ``job``
    _finish(job, status, key, summary, (code, message))
    db.session.commit()
    log.info("job %s: %s with %d sentences", job_id, status.value, len(merged.sentences))
    return status.value


def _finish(
    job: Job,
    status: JobStatus,
    result_key: str | None,
    summary: dict[str, Any] | None,
    error: tuple[str | None, str | None] | None,
) -> None:
    code, message = error or (None, None)
    # Durable (services/persistence.py): commits, retries a transient database
    # error, verifies, and backs the result up to a file if the database stays down.
    persistence.save_job_result(
        job.id,
        job.round,
        {
            "status": status.value,
            "step": status.value,
            "result_key": result_key,
            "result_summary": bounded(summary) if summary is not None else None,
            "error_code": code,
            "error_message": message,
            "finished_at": utcnow(),
            "updated_at": utcnow(),
        },
    )
