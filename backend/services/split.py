"""split_job: the upload becomes N persisted chunks, then one chord."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, update

from backend.blobstore import BlobMissingError
from backend.extensions import db
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.types import utcnow
from backend.pipeline import split as splitter
from backend.pipeline.errors import PipelineError
from backend.pipeline.types import ChunkSpec
from backend.services import dispatch, runtime
from backend.services.states import fail_job, job_cas

log = logging.getLogger(__name__)


def furniture_key(job_id: str) -> str:
    """Where a job's book-wide furniture plan lives, beside its chunk files."""
    return f"jobs/{job_id}/furniture.json"


def _claim_for_split(job_id: str) -> bool:
    """``queued → splitting`` (or re-take a split whose worker died: expired lease)."""
    now = utcnow()
    lease = now + timedelta(seconds=runtime.settings().lease_seconds)
    result = db.session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.cancel_requested_at.is_(None),
            or_(
                Job.status == JobStatus.QUEUED.value,
                (Job.status == JobStatus.SPLITTING.value) & (Job.lease_expires_at < now),
            ),
        )
        .values(
            status=JobStatus.SPLITTING.value,
            step="splitting",
            lease_expires_at=lease,
            started_at=now,
            updated_at=now,
            dispatch_pending=False,
        )
        .returning(Job.id)
    )
    claimed = result.first() is not None
    db.session.commit()
    return claimed


def split_job(job_id: str) -> str:
    """Split the job's PDF into chunk PDFs and rows (one transaction), then dispatch.

    Returns the job's status afterwards. A duplicate delivery returns without work.
    """
    if not _claim_for_split(job_id):
        job = db.session.get(Job, job_id)
        status = job.status if job else "missing"
        log.info("job %s: split skipped, job is %s", job_id, status)
        return status
    job = db.session.get(Job, job_id)
    assert job is not None  # claimed just now
    store = runtime.blobs()

    def chunk_key(spec: ChunkSpec) -> str:
        return f"jobs/{job_id}/chunks/{spec.index:05d}.pdf"

    try:
        # The parse (and the chunk files' writing) runs in a bounded child process.
        outcome = splitter.split_pdf_limited(
            store.local_path(job.source_key),
            job.pages_per_chunk,
            job.overlap_pages,
            lambda spec, data: store.put_bytes(chunk_key(spec), data),
            runtime.settings().parse_limits,
            runtime.settings().work_limits,
        )
        pages = outcome.page_count
        if outcome.furniture is not None:
            store.put_bytes(furniture_key(job_id), outcome.furniture)
        rows = []
        for spec, size in outcome.chunks:
            key = chunk_key(spec)
            rows.append(
                {
                    "job_id": job_id,
                    "chunk_id": spec.index,
                    "page_start": spec.page_start,
                    "page_end": spec.page_end,
                    "read_start": spec.read_start,
                    "read_end": spec.read_end,
                    "page_count": spec.page_count,
                    "has_overlap": spec.has_overlap,
                    "storage_key": key,
                    "payload_size": size,
                    "status": ChunkStatus.PENDING.value,
                    "max_retries": job.max_retries,
                }
            )
    except (PipelineError, BlobMissingError) as exc:
        code = getattr(exc, "code", "BLOB_MISSING")
        message = getattr(exc, "message", f"the uploaded file is missing ({exc})")
        log.warning("job %s: split failed %s: %s", job_id, code, message)
        # A split stopped midway (a cap, a damaged page) leaves no chunk file behind.
        store.delete_prefix(f"jobs/{job_id}/chunks")
        db.session.rollback()
        fail_job(job_id, [JobStatus.SPLITTING.value], code, message)
        db.session.commit()
        return JobStatus.FAILED.value

    # Chunk rows and the job's move to ``processing`` commit together: no reader
    # ever sees a processing job with half its chunks.
    db.session.execute(db.insert(JobChunk), rows)
    moved = job_cas(
        job_id,
        [JobStatus.SPLITTING.value],
        status=JobStatus.PROCESSING.value,
        step="processing",
        page_count=pages,
        total_chunks=len(rows),
        round=0,
        lease_expires_at=None,
    )
    if not moved:
        db.session.rollback()
        log.warning("job %s: changed during split (cancelled?); chunks discarded", job_id)
        return _after_lost_split(job_id)
    db.session.commit()
    chunk_pks = list(
        db.session.scalars(
            db.select(JobChunk.id).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
        )
    )
    log.info("job %s: %d pages → %d chunks", job_id, pages, len(chunk_pks))
    dispatch.publish_round(job_id, chunk_pks, 0)
    return JobStatus.PROCESSING.value


def _after_lost_split(job_id: str) -> str:
    job = db.session.get(Job, job_id)
    if job is None:
        return "missing"
    if job.cancel_requested_at is not None and job_cas(
        job_id,
        [JobStatus.SPLITTING.value, JobStatus.QUEUED.value],
        status=JobStatus.CANCELLED.value,
        step="cancelled",
        finished_at=utcnow(),
    ):
        db.session.commit()
        return JobStatus.CANCELLED.value
    return job.status
