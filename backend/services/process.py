"""process_chunk: claim a chunk row, run its processor, record the outcome.

Never raises into the chord: every outcome is written to the row and the caller
gets a tiny deterministic value. A duplicate delivery finds the row claimed (a
live lease) or finished and does nothing.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, case, or_, select, update
from sqlalchemy.engine import Connection

from backend.blobstore import BlobMissingError
from backend.database import autocommit_connection
from backend.errors import is_retryable, kind_of
from backend.metrics import CHUNK_DURATION
from backend.models import ChunkStatus, Job, JobChunk
from backend.models.chunk import CLAIMABLE_CHUNK_STATUSES
from backend.models.types import utcnow
from backend.pipeline.errors import PipelineError
from backend.pipeline.furniture import FurniturePlan
from backend.pipeline.messages import clean_page_errors, error_message
from backend.pipeline.processors import get_processor
from backend.pipeline.types import (
    DEFAULT_OCR_LANG,
    ChunkInput,
    ChunkOutput,
    ChunkSpec,
    ProcessSettings,
)
from backend.services import fallback, llm_limiter, persistence, result_cache, runtime
from backend.services.result_limits import store_result
from backend.services.split import furniture_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """A claimed chunk: what its attempt needs, read by the claim statement itself."""

    chunk_pk: int
    job_id: str
    attempts: int
    lost_deliveries: int
    chunk_id: int
    page_start: int
    page_end: int
    read_start: int
    read_end: int
    storage_key: str
    tokens_used: int
    processor: str
    words_per_sentence: int
    overlap_pages: int
    options: dict[str, Any]


def _of_job(column: Any) -> Any:
    """A job column for the claim's RETURNING (a correlated scalar subquery).

    Not ``UPDATE … FROM jobs``: SQLite (embedded mode) cannot return the
    columns of a FROM table, while both databases accept subqueries there.
    """
    return select(column).where(Job.id == JobChunk.job_id).scalar_subquery().label(column.key)


_CLAIM_RETURNING = (
    JobChunk.job_id,
    JobChunk.attempts,
    JobChunk.lost_deliveries,
    JobChunk.chunk_id,
    JobChunk.page_start,
    JobChunk.page_end,
    JobChunk.read_start,
    JobChunk.read_end,
    JobChunk.storage_key,
    JobChunk.tokens_used,
    _of_job(Job.processor),
    _of_job(Job.words_per_sentence),
    _of_job(Job.overlap_pages),
    _of_job(Job.options),
)


@functools.cache
def _claim_statement() -> Any:
    """The claim, built once: building and cache-keying it per message cost more than
    running it (a cancelled job's 20,000 queued messages each pay for the claim)."""
    now = bindparam("now", type_=JobChunk.updated_at.type)
    live_jobs = select(Job.id).where(Job.cancel_requested_at.is_(None))
    claimable = JobChunk.status.in_([s.value for s in CLAIMABLE_CHUNK_STATUSES])
    expired = (JobChunk.status == ChunkStatus.PROCESSING.value) & (JobChunk.lease_expires_at < now)
    return (
        update(JobChunk)
        .where(
            JobChunk.id == bindparam("pk"), or_(claimable, expired), JobChunk.job_id.in_(live_jobs)
        )
        .values(
            status=ChunkStatus.PROCESSING.value,
            attempts=JobChunk.attempts + 1,
            lost_deliveries=JobChunk.lost_deliveries
            + case((JobChunk.status == ChunkStatus.PROCESSING.value, 1), else_=0),
            lease_expires_at=bindparam("lease", type_=JobChunk.lease_expires_at.type),
            celery_task_id=bindparam("task_id", type_=JobChunk.celery_task_id.type),
            updated_at=now,
        )
        .returning(*_CLAIM_RETURNING)
    )


@functools.cache
def _status_statement() -> Any:
    """A refused claim's one read: the row's status, by primary key."""
    return select(JobChunk.status).where(JobChunk.id == bindparam("pk"))


def claim_chunk(chunk_pk: int, task_id: str | None, conn: Connection | None = None) -> Claim | str:
    """``pending|retry_scheduled → processing``, ``attempts += 1``, with a lease.

    A row still ``processing`` whose lease has expired belongs to a dead worker:
    it is taken over, and ``lost_deliveries`` counts it toward the delivery cap.
    Returns the row's status instead of a claim when it is not claimable
    (``processing`` under a live lease, finished, ``cancelled``; ``missing`` for
    a deleted job's). A chunk of a job that asked to cancel is moved to
    ``cancelled`` here, so that no processor call starts after the cancel.

    One statement, committed on its own: the compare-and-set, the cancel check
    and every column the attempt needs (the chunk's and its job's) in a single
    round trip. The chunk hot path holds no transaction and no ORM objects. A
    refused claim costs one more primary-key read, and nothing else: a cancelled
    or deleted job's queued messages drain at the speed of the database.
    """
    if conn is None:
        with autocommit_connection() as own:
            return claim_chunk(chunk_pk, task_id, own)
    now = utcnow()
    lease = now + timedelta(seconds=runtime.settings().lease_seconds)
    params = {"pk": chunk_pk, "now": now, "lease": lease, "task_id": task_id}
    row = conn.execute(_claim_statement(), params).mappings().first()
    if row is None:
        return _unclaimed(conn, chunk_pk)
    return Claim(chunk_pk=chunk_pk, **{**row, "options": row["options"] or {}})


def _unclaimed(conn: Connection, chunk_pk: int) -> str:
    status = conn.execute(_status_statement(), {"pk": chunk_pk}).scalar()
    if status is None:
        return "missing"
    claimable = [s.value for s in CLAIMABLE_CHUNK_STATUSES]
    if status not in claimable:
        return str(status)
    # A claimable row the claim refused: its job asked to cancel after the cancel
    # swept its chunks (a race), or the row changed in between. Settle the first.
    cancelled_jobs = select(Job.id).where(Job.cancel_requested_at.is_not(None))
    moved = conn.execute(
        update(JobChunk)
        .where(
            JobChunk.id == chunk_pk,
            JobChunk.status.in_(claimable),
            JobChunk.job_id.in_(cancelled_jobs),
        )
        .values(status=ChunkStatus.CANCELLED.value, updated_at=utcnow())
    )
    return ChunkStatus.CANCELLED.value if moved.rowcount else str(status)


def _record(claim: Claim, conn: Connection, **values: Any) -> bool:
    """Write the outcome, only if this attempt still holds the row (fencing).

    Durably: retried on a transient database error, verified, and backed up to
    a file when the database stays unreachable (services/persistence.py); a
    backed-up outcome counts as recorded.
    """
    values.setdefault("updated_at", utcnow())
    values.setdefault("lease_expires_at", None)
    outcome = persistence.save_chunk_result(
        claim.job_id, claim.chunk_pk, claim.attempts, values, conn=conn
    )
    won = outcome is not persistence.Outcome.NOT_APPLIED
    if not won:
        log.warning(
            "job %s chunk %d: attempt %d lost its lease; outcome discarded",
            claim.job_id,
            claim.chunk_pk,
            claim.attempts,
        )
    return won


def _load_input(claim: Claim) -> ChunkInput:
    spec = ChunkSpec(
        index=claim.chunk_id,
        page_start=claim.page_start,
        page_end=claim.page_end,
        read_start=claim.read_start,
        read_end=claim.read_end,
        overlap=claim.overlap_pages,
    )
    options = claim.options or {}  # only what differs from the defaults (JobOptions.stored)
    settings = ProcessSettings(
        words_per_sentence=claim.words_per_sentence,
        ocr=options.get("ocr", "auto"),
        ocr_lang=options.get("ocr_lang", DEFAULT_OCR_LANG),
    )
    return ChunkInput(
        pdf_bytes=runtime.blobs().get_bytes(claim.storage_key),
        spec=spec,
        settings=settings,
        limits=runtime.settings().parse_limits,
        furniture=_furniture_plan(claim.job_id),
    )


def _furniture_plan(job_id: str) -> FurniturePlan | None:
    """The job's book-wide furniture plan; None (page-local rules only) if absent or bad.

    A job split before plans existed, or a file PDFium could not plan, has none.
    """
    try:
        return FurniturePlan.from_json(runtime.blobs().get_bytes(furniture_key(job_id)))
    except BlobMissingError:
        return None
    except ValueError as exc:
        log.warning("job %s: furniture plan ignored (%s)", job_id, exc)
        return None


@contextlib.contextmanager
def _timed(processor: str) -> Iterator[dict[str, str]]:
    """Observe the processor call's wall time by processor and outcome (failed unless set)."""
    outcome = {"status": ChunkStatus.FAILED.value}
    started = time.perf_counter()
    try:
        yield outcome
    finally:
        CHUNK_DURATION.labels(processor=processor, status=outcome["status"]).observe(
            time.perf_counter() - started
        )


def _fail(
    claim: Claim,
    conn: Connection,
    code: str,
    message: str,
    *,
    retryable: bool = False,
    retry_after: float | None = None,
    tokens_used: int | None = None,
) -> dict[str, Any]:
    """Record a classified failure (fenced like every outcome) and the chord's value.

    ``tokens_used``: the chunk's new bill when a refused paid answer cost tokens.
    """
    values: dict[str, Any] = {} if tokens_used is None else {"tokens_used": tokens_used}
    _record(
        claim,
        conn,
        status=ChunkStatus.FAILED.value,
        # A fixed sentence per code plus the detail, bounded and markup-free: the
        # detail may quote the PDF itself, and operators read it (issue 12).
        last_error=error_message(kind_of(code).title, message),
        last_error_code=code,
        error_retryable=retryable,
        retry_after_seconds=retry_after,
        **values,
    )
    return {"chunk": claim.chunk_pk, "status": ChunkStatus.FAILED.value}


def _stored_output(output: ChunkOutput) -> dict[str, Any]:
    """The chunk's result as stored, its parser diagnostics cleaned like ``last_error``.

    Here rather than in each processor: every processor, and a cache hit, pass here.
    """
    stored = output.to_dict()
    page_errors = stored["metadata"].get("page_errors")
    if isinstance(page_errors, dict):
        stored["metadata"]["page_errors"] = clean_page_errors(page_errors)
    return stored


class _JobCancelled(Exception):
    """The job was cancelled while this chunk waited for the rate limiter."""


class _CancelAwareGate:
    """The fleet's rate limiter, plus the cancel check after a (possibly long) wait.

    No processor call may start after a cancel commits; a wait in the limiter
    can last far longer than the check made when the chunk was claimed.
    """

    def __init__(self, gate: llm_limiter.Gate, job_id: str) -> None:
        self._gate = gate
        self._job_id = job_id

    def acquire(self) -> float:
        try:
            # Asked during the wait too: a cancelled chunk frees its worker slot
            # within a nap instead of after the whole wait.
            waited = self._gate.acquire(should_stop=lambda: _job_cancelled(self._job_id))
        except llm_limiter.WaitAborted:
            raise _JobCancelled(self._job_id) from None
        # And once more after it: the last nap may have ended just before the cancel.
        if _job_cancelled(self._job_id):
            raise _JobCancelled(self._job_id)
        return waited

    def debit(self, tokens: int) -> None:
        self._gate.debit(tokens)

    def drain(self) -> None:
        self._gate.drain()


def _job_cancelled(job_id: str) -> bool:
    # Its own short connection: no transaction stays open across the wait or the call.
    with autocommit_connection() as conn:
        requested = conn.scalar(select(Job.cancel_requested_at).where(Job.id == job_id))
    return requested is not None


def process_chunk(chunk_pk: int, task_id: str | None = None) -> dict[str, Any]:
    """Process one chunk by its primary key; returns ``{"chunk": pk, "status": …}``."""
    # One connection for the attempt's two statements (claim, outcome): one
    # checkout and one pre-ping. It is idle, in no transaction, during the
    # processor call; if the database restarts meanwhile, the outcome's write
    # fails on it and its retry takes a fresh connection (services/persistence.py).
    with autocommit_connection() as conn:
        return _attempt(conn, chunk_pk, task_id)


def _attempt(conn: Connection, chunk_pk: int, task_id: str | None) -> dict[str, Any]:
    claim = claim_chunk(chunk_pk, task_id, conn)
    if isinstance(claim, str):
        # Debug for the bulk case: a cancelled or deleted job's thousands of messages.
        quiet = claim in (ChunkStatus.CANCELLED.value, "missing")
        log.log(
            logging.DEBUG if quiet else logging.INFO,
            "chunk %d: not claimable (%s); duplicate or cancelled delivery",
            chunk_pk,
            claim,
        )
        return {"chunk": chunk_pk, "status": claim}

    max_attempts = runtime.settings().max_attempts
    if claim.lost_deliveries >= max_attempts:
        # A chunk whose workers keep dying (poison PDF, OOM) must stop, not loop.
        return _fail(
            claim,
            conn,
            "WORKER_LOST",
            f"the worker died {claim.lost_deliveries} times while processing this chunk; giving up",
        )

    # (The claim itself refused a job that asked to cancel; the rate limiter's
    # wait, which can be long, checks again.)
    log_ctx = (claim.job_id, claim.chunk_id, claim.attempts)
    # Read by our claim: no other attempt writes the row while we hold it.
    paid_before = claim.tokens_used
    try:
        chunk_input = _load_input(claim)
        # The job's processor, or ``local`` for a chunk handed to the fallback.
        processor = fallback.processor_for(claim.processor, claim.options, claim.chunk_id)
        with _timed(processor) as outcome:
            fleet_gate = llm_limiter.gate_for(processor, runtime.settings())
            gate = _CancelAwareGate(fleet_gate, claim.job_id) if fleet_gate else None
            run = result_cache.run_cached(get_processor(processor), chunk_input, gate)
            outcome["status"] = ChunkStatus.SUCCESS.value
    except _JobCancelled:
        _record(claim, conn, status=ChunkStatus.CANCELLED.value)
        return {"chunk": chunk_pk, "status": ChunkStatus.CANCELLED.value}
    except PipelineError as exc:
        log.warning("job %s chunk %d attempt %d: %s %s", *log_ctx, exc.code, exc.message)
        return _fail(
            claim,
            conn,
            exc.code,
            exc.message,
            retryable=is_retryable(exc.code),
            retry_after=getattr(exc, "retry_after", None),
            tokens_used=paid_before + exc.tokens_used if exc.tokens_used else None,
        )
    except BlobMissingError as exc:
        return _fail(
            claim, conn, "BLOB_MISSING", f"the chunk's PDF is missing from the blob store ({exc})"
        )
    except Exception as exc:
        # A bug or an unclassified library error: keep the worker alive, record
        # it, and let the retry policy decide (it may be transient).
        log.exception("job %s chunk %d attempt %d: unexpected error", *log_ctx)
        return _fail(claim, conn, "PROCESSOR_ERROR", f"{type(exc).__name__}: {exc}", retryable=True)

    output: ChunkOutput = run.output
    # Stored (and committed) before the outcome: should the outcome's write
    # fail, the next attempt finds the paid-for answer in the cache.
    result_cache.store(run, processor)
    _record(
        claim,
        conn,
        status=ChunkStatus.SUCCESS.value,
        result_json=store_result(claim.job_id, claim.chunk_id, _stored_output(output)),
        # Added: failed attempts of this chunk were paid for too.
        tokens_used=paid_before + run.tokens_used,
        cache_hit=run.hit,
        retry_after_seconds=None,
        processed_at=utcnow(),
        last_error=None,
        last_error_code=None,
        error_retryable=False,
    )
    log.info("job %s chunk %d attempt %d: %d sentences", *log_ctx, len(output.sentences))
    return {"chunk": chunk_pk, "status": ChunkStatus.SUCCESS.value}
