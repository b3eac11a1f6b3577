"""Automatic resume of ``paused_quota`` jobs and ``fallback=local``, at service level.

Real Postgres and a real Redis broker that nothing consumes: each test reads back
the messages a service published. Chunk rows are set to what workers would have
recorded; ``reconcile(now)`` moves the clock without sleeping.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.errors import QuireError
from backend.extensions import db
from backend.models import AuditLog, Job, JobChunk
from backend.models.types import utcnow
from backend.pipeline import processors
from backend.services import jobs, retry, runtime, split, users
from backend.services.cancel import cancel_job
from backend.services.finalize import finalize_job
from backend.services.reconcile import reconcile
from backend.services.resume import PAUSED
from tests.conftest import blank_pdf, truncate_all, upload
from tests.e2e.conftest import REDIS
from tests.fakes.processors import Script, ScriptedProcessor
from tests.integration.conftest import redis_service_app, sentence_result
from tests.integration.test_reconcile import chunk_pks, job_of, published, set_chunks

pytestmark = pytest.mark.integration

BROKER_DB = 9
WINDOW = 3600  # quota_resume_seconds of this app


@pytest.fixture(scope="module")
def broker() -> redis.Redis:
    return redis.Redis.from_url(f"{REDIS}/{BROKER_DB}")


@pytest.fixture(scope="module")
def service_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    with redis_service_app(
        database_url,
        tmp_path_factory.mktemp("resume"),
        BROKER_DB,
        "resume",
        quota_resume_seconds=WINDOW,
    ) as flask_app:
        # A paid-processor stand-in: fallback=local only applies to jobs not already local.
        processors.register("scripted", lambda: ScriptedProcessor(Script()))
        yield flask_app
        processors.unregister("scripted")


@pytest.fixture
def ctx(service_app: APIFlask, broker: redis.Redis) -> Iterator[APIFlask]:
    with service_app.app_context():
        yield service_app
        db.session.remove()
    truncate_all(service_app)
    broker.flushdb()


def new_job(pages: int = 4, **given: Any) -> tuple[str, int]:
    """A split job of ``pages`` pages, two pages per chunk; ``(job_id, owner_id)``."""
    owner = users.register_user(f"u{utcnow().timestamp()}@example.com", "long enough pw")
    given.setdefault("processor", "scripted")
    options = jobs.default_options(pages_per_chunk=2, overlap_pages=0, **given)
    job = jobs.submit_job(owner, "book.pdf", io.BytesIO(blank_pdf(pages)), options)
    split.split_job(job.id)
    return job.id, owner.id


def fail_chunk(job_id: str, chunk_id: int, code: str, **values: Any) -> None:
    set_chunks(
        job_id,
        [chunk_id],
        status="failed",
        last_error_code=code,
        last_error=f"{code} from the processor",
        error_retryable=code not in ("CONTENT_BLOCKED", "NO_TEXT", "INVALID_PDF"),
        **values,
    )


def succeed_chunk(job_id: str, chunk_id: int) -> None:
    first = 2 * chunk_id + 1
    set_chunks(job_id, [chunk_id], status="success", result_json=sentence_result(first, first + 1))


def paused_job(**fail_values: Any) -> tuple[str, int]:
    job_id, owner = new_job()
    succeed_chunk(job_id, 0)
    fail_chunk(job_id, 1, "QUOTA_EXHAUSTED", **fail_values)
    assert finalize_job(job_id, 0) == "paused_quota"
    return job_id, owner


def test_pause_sets_resume_at_one_quota_window_ahead(ctx: APIFlask) -> None:
    before = utcnow()
    job_id, _ = paused_job(retry_after_seconds=30.0)
    job = job_of(job_id)
    assert job.resume_at is not None
    assert before + timedelta(seconds=WINDOW) <= job.resume_at
    assert job.resume_at <= utcnow() + timedelta(seconds=WINDOW)


def test_a_longer_retry_delay_than_the_window_is_honoured(ctx: APIFlask) -> None:
    job_id, _ = paused_job(retry_after_seconds=3 * WINDOW)
    job = job_of(job_id)
    assert job.resume_at is not None
    assert job.resume_at >= utcnow() + timedelta(seconds=3 * WINDOW - 5)


def test_reconcile_resumes_a_paused_job_once_its_window_has_passed(
    ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id, _ = paused_job()
    resume_at = job_of(job_id).resume_at
    assert resume_at is not None

    early = reconcile(resume_at - timedelta(seconds=1))
    assert early.resumed_jobs == ()
    assert job_of(job_id).status == "paused_quota"

    report = reconcile(resume_at + timedelta(seconds=1))
    assert report.resumed_jobs == (job_id,)
    job = job_of(job_id)
    assert (job.status, job.round, job.resume_at, job.error_code) == ("processing", 1, None, None)
    failed_pk = chunk_pks(job_id)[1]
    assert db.session.get(JobChunk, failed_pk).status == "retry_scheduled"  # type: ignore[union-attr]
    assert ("quire.process_chunk", (failed_pk,)) in published(broker)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.job_id == job_id)).one()
    assert (entry.action, entry.user_id, entry.details["by"]) == ("resume", None, "system")
    assert entry.details["chunk_ids"] == [1]

    again = reconcile(resume_at + timedelta(seconds=120))
    assert again.resumed_jobs == ()
    assert job_of(job_id).round == 1


def test_manual_retry_and_the_reconciler_cannot_both_resume(
    ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id, owner = paused_job()
    stale = job_of(job_id)
    db.session.expunge(stale)  # what the reconciler read before the manual retry committed

    outcome = retry.retry_chunks(job_of(job_id), owner)
    assert outcome.round == 1
    assert job_of(job_id).resume_at is None  # a manual resume clears the window
    later = utcnow() + timedelta(seconds=2 * WINDOW)
    assert reconcile(later).resumed_jobs == ()

    # The retried chunk fails again at once, so the stale resume gets as far as
    # its compare-and-set on the job (status and round) and must lose there.
    fail_chunk(job_id, 1, "LLM_UNAVAILABLE")
    broker.flushdb()
    with pytest.raises(QuireError) as conflict:
        retry.retry_chunks(stale, None, expected=PAUSED)
    assert conflict.value.code == "JOB_STATE_CONFLICT"
    db.session.rollback()
    job = job_of(job_id)
    assert (job.status, job.round) == ("processing", 1)
    assert db.session.get(JobChunk, chunk_pks(job_id)[1]).status == "failed"  # type: ignore[union-attr]
    assert published(broker) == []
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.job_id == job_id)).all()
    assert actions == ["retry"]


def test_cancel_of_a_paused_job_clears_resume_at(ctx: APIFlask) -> None:
    job_id, owner = paused_job()
    assert cancel_job(job_of(job_id), owner) == "cancelled"
    job = job_of(job_id)
    assert (job.status, job.resume_at) == ("cancelled", None)
    assert reconcile(utcnow() + timedelta(seconds=2 * WINDOW)).resumed_jobs == ()


def test_a_paused_job_that_cannot_resume_stops_being_tried(ctx: APIFlask) -> None:
    job_id, _ = paused_job()
    resume_at = job_of(job_id).resume_at
    assert resume_at is not None
    # Its failed chunk's PDF is gone: a retry is refused (INPUT_EXPIRED) every time.
    runtime.blobs().delete_prefix(f"jobs/{job_id}/chunks")
    assert reconcile(resume_at + timedelta(seconds=1)).resumed_jobs == ()
    job = job_of(job_id)
    assert (job.status, job.resume_at) == ("paused_quota", None)


# --- fallback=local ------------------------------------------------------------------


def result_document(job: Job) -> dict[str, Any]:
    assert job.result_key is not None
    loaded: dict[str, Any] = json.loads(runtime.blobs().get_bytes(job.result_key))
    return loaded


def test_fallback_round_follows_the_last_retry_round(ctx: APIFlask, broker: redis.Redis) -> None:
    job_id, _ = new_job(6, fallback="local", max_retries=1)
    succeed_chunk(job_id, 0)
    fail_chunk(job_id, 1, "LLM_BAD_OUTPUT")
    fail_chunk(job_id, 2, "CONTENT_BLOCKED")
    # A retry round is left: the model gets another go at the retryable chunk first.
    assert finalize_job(job_id, 0) == "retrying"
    assert job_of(job_id).options.get("fallback_chunks") is None
    fail_chunk(job_id, 1, "LLM_BAD_OUTPUT")
    broker.flushdb()

    assert finalize_job(job_id, 1) == "retrying"
    job = job_of(job_id)
    assert job.options == {"fallback": "local", "fallback_chunks": [1, 2]}
    assert (job.round, job.retry_count) == (2, 1)  # no retry round spent on it
    pks = chunk_pks(job_id)
    assert sorted(m[1] for m in published(broker) if m[0] == "quire.process_chunk") == [
        (pks[1],),
        (pks[2],),
    ]

    succeed_chunk(job_id, 1)
    succeed_chunk(job_id, 2)
    assert finalize_job(job_id, 2) == "completed"
    job = job_of(job_id)
    assert job.result_summary is not None
    assert job.result_summary["fallback_count"] == 2
    document = result_document(job)
    assert document["fallback"] == "local"
    assert document["fallback_chunks"] == [1, 2]


def test_unreadable_chunks_do_not_fall_back(ctx: APIFlask, broker: redis.Redis) -> None:
    job_id, _ = new_job(fallback="local", max_retries=0)
    succeed_chunk(job_id, 0)
    fail_chunk(job_id, 1, "NO_TEXT")
    assert finalize_job(job_id, 0) == "partial"
    job = job_of(job_id)
    assert "fallback_chunks" not in job.options
    assert job.result_summary is not None
    assert "fallback_count" not in job.result_summary


def test_a_chunk_that_fails_locally_too_is_not_sent_back_again(ctx: APIFlask) -> None:
    job_id, _ = new_job(fallback="local", max_retries=0)
    succeed_chunk(job_id, 0)
    fail_chunk(job_id, 1, "LLM_UNAVAILABLE")
    assert finalize_job(job_id, 0) == "retrying"
    fail_chunk(job_id, 1, "PROCESSOR_ERROR")  # the local processor failed as well
    assert finalize_job(job_id, 1) == "partial"
    job = job_of(job_id)
    assert job.result_summary is not None
    assert job.result_summary["fallback_count"] == 0


def test_exhausted_quota_falls_back_at_once_instead_of_pausing(
    ctx: APIFlask, broker: redis.Redis
) -> None:
    job_id, _ = new_job(fallback="local", max_retries=3)
    succeed_chunk(job_id, 0)
    fail_chunk(job_id, 1, "QUOTA_EXHAUSTED")
    assert finalize_job(job_id, 0) == "retrying"
    job = job_of(job_id)
    assert (job.resume_at, job.retry_count, job.options["fallback_chunks"]) == (None, 0, [1])


@pytest.mark.parametrize("given", [{}, {"fallback": "local", "processor": "local"}])
def test_without_a_paid_processor_to_fall_back_from_the_job_ends_partial(
    ctx: APIFlask, given: dict[str, str]
) -> None:
    job_id, _ = new_job(max_retries=0, **given)
    succeed_chunk(job_id, 0)
    fail_chunk(job_id, 1, "LLM_BAD_OUTPUT")
    assert finalize_job(job_id, 0) == "partial"


@pytest.mark.parametrize(("form", "shown"), [({}, "none"), ({"fallback": "local"}, "local")])
def test_job_shows_its_fallback_and_resume_at(
    client: FlaskClient, alice: dict[str, str], form: dict[str, str], shown: str
) -> None:
    response = upload(client, alice, blank_pdf(2), **form)
    assert response.status_code == 202, response.get_json()
    job = client.get(response.headers["Location"], headers=alice).get_json()
    assert job["settings"]["fallback"] == shown
    assert job["resume_at"] is None
