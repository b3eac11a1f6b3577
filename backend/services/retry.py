"""Manual retry of a job's chunks (operators and owners)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from backend.errors import QuireError
from backend.extensions import db
from backend.metrics import CHUNK_RETRIES
from backend.models import ChunkStatus, Job, JobChunk, JobStatus
from backend.models.types import utcnow
from backend.services import audit, dispatch, runtime
from backend.services.deadlock import retry_on_deadlock
from backend.services.states import job_cas

log = logging.getLogger(__name__)

RETRYABLE_JOB_STATUSES = (
    JobStatus.PROCESSING.value,
    JobStatus.RETRYING.value,
    JobStatus.PAUSED_QUOTA.value,
    JobStatus.COMPLETED.value,
    JobStatus.PARTIAL.value,
    JobStatus.FAILED.value,
)


@dataclass(frozen=True)
class RetryOutcome:
    retried_count: int
    chunk_ids: list[int]
    round: int


def _refuse_expired_inputs(job: Job, storage_keys: list[str]) -> None:
    """Refuse up front when blob retention deleted the chunk PDFs a retry would read.

    Without this the retry would be accepted, and every chunk would then fail
    with ``BLOB_MISSING``: a new round burnt to learn what we know now.
    """
    store = runtime.blobs()
    missing = [key for key in storage_keys if not store.exists(key)]
    if missing:
        raise QuireError(
            "INPUT_EXPIRED",
            f"the input of {len(missing)} of these chunks was deleted by blob retention "
            f"(QUIRE_BLOB_RETENTION_DAYS); upload the PDF again to process it",
            {"missing_chunks": len(missing)},
        )


@retry_on_deadlock
def retry_chunks(
    job: Job,
    user_id: int | None,
    chunk_ids: Sequence[int] | None = None,
    force: bool = False,
    *,
    expected: Sequence[str] = RETRYABLE_JOB_STATUSES,
) -> RetryOutcome:
    """Send failed chunks (and, with ``force``, successful ones) back to work.

    Without ``chunk_ids`` every failed chunk is retried. The job goes back to
    ``processing`` under a new round and finalizes again when they end.
    ``user_id`` None is the system (the reconciler resuming a ``paused_quota``
    job, which passes ``expected=(paused_quota,)``): audited as ``resume``.
    """
    if job.cancel_requested_at is not None:
        raise QuireError("JOB_STATE_CONFLICT", "the job is being cancelled; it cannot be retried")
    if job.status not in expected:
        raise QuireError(
            "JOB_STATE_CONFLICT",
            f"a {job.status} job cannot be retried",
            {"status": job.status},
        )
    eligible = [ChunkStatus.FAILED.value] + ([ChunkStatus.SUCCESS.value] if force else [])
    query = select(JobChunk.id, JobChunk.chunk_id, JobChunk.status, JobChunk.storage_key).where(
        JobChunk.job_id == job.id
    )
    if chunk_ids:
        wanted = sorted(set(chunk_ids))
        rows = db.session.execute(query.where(JobChunk.chunk_id.in_(wanted))).all()
        unknown = sorted(set(wanted) - {r.chunk_id for r in rows})
        if unknown:
            raise QuireError(
                "INVALID_PARAMS",
                f"job {job.id} has no chunks {unknown}",
                {"unknown_chunk_ids": unknown},
            )
        targets = [r for r in rows if r.status in eligible]
    else:
        targets = list(db.session.execute(query.where(JobChunk.status.in_(eligible))).all())
    if not targets:
        raise QuireError(
            "NOTHING_TO_RETRY",
            "no chunk is in a retryable state"
            + ("" if force else " (use force to re-run successful chunks)"),
        )

    _refuse_expired_inputs(job, [t.storage_key for t in targets])

    next_round = job.round + 1
    # The job CAS names the round we read: a finalize or another retry that
    # committed in between makes it miss, and we refuse rather than race.
    if not job_cas(
        job.id,
        expected,
        Job.round == job.round,
        round=next_round,
        status=JobStatus.PROCESSING.value,
        step="manual retry" if user_id is not None else "resumed after the quota window",
        finished_at=None,
        error_code=None,
        error_message=None,
        resume_at=None,
    ):
        db.session.rollback()
        raise QuireError("JOB_STATE_CONFLICT", "the job changed while retrying; try again")
    moved = list(
        db.session.scalars(
            update(JobChunk)
            .where(
                JobChunk.id.in_([t.id for t in targets]),
                JobChunk.status.in_(eligible),
            )
            .values(
                status=ChunkStatus.RETRY_SCHEDULED.value,
                # ``attempts`` never goes back: it is the fencing token of the
                # chunk's outcome write, and a stale attempt from before this
                # retry must not match the retry's own claim. The delivery cap
                # (``lost_deliveries``) starts again.
                lost_deliveries=0,
                last_error=None,
                last_error_code=None,
                error_retryable=False,
                updated_at=utcnow(),
            )
            .returning(JobChunk.id)
        )
    )
    moved_ids = sorted(t.chunk_id for t in targets if t.id in set(moved))
    if user_id is None:
        audit.record("resume", None, job.id, by="system", chunk_ids=moved_ids, round=next_round)
    else:
        audit.record("retry", user_id, job.id, chunk_ids=moved_ids, force=force, round=next_round)
    db.session.commit()
    kind = "manual" if user_id is not None else "resume"
    log.info("job %s: %s retry of %d chunks, round %d", job.id, kind, len(moved), next_round)
    CHUNK_RETRIES.labels(kind=kind).inc(len(moved))
    dispatch.publish_round(job.id, moved, next_round)
    return RetryOutcome(retried_count=len(moved), chunk_ids=moved_ids, round=next_round)
