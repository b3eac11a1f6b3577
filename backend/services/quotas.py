"""Bounded work at upload: a job's declared size, a user's unfinished jobs and queued chunks.

Checked in three steps, cheapest first (docs/security.md "Bounded work"):

1. ``check_room`` before the upload is stored: a user already at a cap gets
   429 without sending us 200 MB to throw away.
2. ``check_declared`` once it is stored: the page count the PDF declares
   (``pipeline.limits.declared_page_count``, in the parse sandbox) against the
   page and chunk caps, 422. A file that lies is stopped by the split.
3. ``reserve`` just before the job row is inserted: the counts again, under a
   lock on the user's row (``SELECT … FOR NO KEY UPDATE``) that the insert's
   commit releases, so two uploads of one user are counted one after the
   other and never both slip under a cap.

Operators have no per-user caps (they are trusted and run bulk work); the page,
chunk and amplification caps bound every job, theirs included.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import func, select

from backend.errors import QuireError
from backend.extensions import db
from backend.models import ChunkStatus, Job, JobChunk, User
from backend.models.job import TERMINAL_JOB_STATUSES
from backend.pipeline import limits as work_limits
from backend.pipeline.errors import PipelineError
from backend.pipeline.sandbox import ParseLimits, run_limited
from backend.services import runtime

log = logging.getLogger(__name__)

# Chunks that still hold a queued message or a worker: what a user has in line.
QUEUED_CHUNK_STATUSES = (
    ChunkStatus.PENDING.value,
    ChunkStatus.RETRY_SCHEDULED.value,
    ChunkStatus.PROCESSING.value,
)
# Reading a declared page count takes milliseconds; a file that needs longer is
# left to the split (whose own time limit is the parse timeout).
DECLARED_COUNT_TIMEOUT_SECONDS = 10.0


def active_jobs(owner_id: int) -> int:
    """The user's jobs that have not finished (queued, splitting, processing, …)."""
    terminal = [s.value for s in TERMINAL_JOB_STATUSES]
    count = db.session.scalar(
        select(func.count(Job.id)).where(Job.owner_id == owner_id, Job.status.not_in(terminal))
    )
    return int(count or 0)


def queued_chunks(owner_id: int) -> int:
    """The user's chunks waiting for, or held by, a worker (jobs not yet split count 0)."""
    terminal = [s.value for s in TERMINAL_JOB_STATUSES]
    count = db.session.scalar(
        select(func.count(JobChunk.id))
        .join(Job, Job.id == JobChunk.job_id)
        .where(
            Job.owner_id == owner_id,
            Job.status.not_in(terminal),
            JobChunk.status.in_(QUEUED_CHUNK_STATUSES),
        )
    )
    return int(count or 0)


def check_room(owner: User) -> None:
    """429 when the user cannot start one more job now (before the upload is stored)."""
    _check_counts(owner, adding_chunks=0)


def check_declared(path: Path, pages_per_chunk: int) -> int | None:
    """The job's chunk count from the page count the PDF declares, or None if unknown.

    Raises ``PDF_TOO_MANY_PAGES`` or ``TOO_MANY_CHUNKS`` (422) when the declared
    count is over a cap.
    """
    settings = runtime.settings()
    bounds = ParseLimits(
        timeout_seconds=min(settings.parse_timeout_seconds, DECLARED_COUNT_TIMEOUT_SECONDS),
        memory_mb=settings.parse_memory_mb,
        max_concurrent=settings.parse_concurrency,
    )
    try:
        pages = run_limited(work_limits.declared_page_count, path, limits=bounds)
    except PipelineError as exc:  # too slow or crashed: the split will classify it
        log.info("upload %s: declared page count unreadable (%s)", path.name, exc.code)
        return None
    if pages is None:
        return None
    try:
        work_limits.check_plan(pages, pages_per_chunk, settings.work_limits)
    except PipelineError as exc:
        caps = settings.work_limits
        raise QuireError(
            exc.code,
            exc.message,
            {
                "pages": pages,
                "pages_per_chunk": pages_per_chunk,
                "max_pages": caps.max_pages,
                "max_chunks": caps.max_chunks,
            },
        ) from None
    return work_limits.chunk_count(pages, pages_per_chunk)


def reserve(owner: User, adding_chunks: int) -> None:
    """Lock the user's row until the caller commits, then check the caps (429).

    The caller inserts the job in the same transaction; its commit (or
    rollback) releases the lock.
    """
    if owner.is_operator or not _capped():
        return
    db.session.execute(select(User.id).where(User.id == owner.id).with_for_update(key_share=True))
    _check_counts(owner, adding_chunks)


def _capped() -> bool:
    settings = runtime.settings()
    return bool(settings.max_active_jobs or settings.max_queued_chunks)


def _check_counts(owner: User, adding_chunks: int) -> None:
    if owner.is_operator or not _capped():
        return
    settings = runtime.settings()
    cap = settings.max_active_jobs
    if cap:
        active = active_jobs(owner.id)
        if active >= cap:
            raise QuireError(
                "TOO_MANY_ACTIVE_JOBS",
                f"you have {active} unfinished jobs and at most {cap} may run at a time: "
                "wait for one to finish (or cancel one), then upload again",
                {"active_jobs": active, "max_active_jobs": cap},
                headers={"Retry-After": "60"},
            )
    cap = settings.max_queued_chunks
    if cap:
        queued = queued_chunks(owner.id)
        if queued + adding_chunks > cap or queued >= cap:
            raise QuireError(
                "TOO_MANY_QUEUED_CHUNKS",
                f"you have {queued} chunks waiting"
                + (f" and this upload adds {adding_chunks}" if adding_chunks else "")
                + f"; at most {cap} may wait at a time: wait for your jobs to progress "
                "(or cancel one), then upload again",
                {"queued_chunks": queued, "adding_chunks": adding_chunks, "max_queued_chunks": cap},
                headers={"Retry-After": "60"},
            )
