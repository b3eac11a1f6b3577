"""Retention (audit rows, finished jobs' blobs), result size limits, per-user rate limits."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
import redis
from apiflask import APIFlask
from sqlalchemy import select, text, update

from backend import create_app
from backend.config import ConfigError
from backend.extensions import db
from backend.models import AuditLog, Job, JobChunk
from backend.models.types import utcnow
from backend.services import finalize, retention, runtime
from backend.services.result_limits import POINTER_KEY, load_result, store_result
from tests.conftest import upload
from tests.integration.conftest import assert_error, blank_pdf
from tests.integration.ops.conftest import (
    OPS_LIMITS_DB,
    OPS_REDIS_DB,
    REDIS,
    service_overrides,
    user_headers,
)

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("days", ["29", "366", "ninety"])
def test_audit_retention_out_of_range_fails_at_boot(days: str) -> None:
    with pytest.raises(ConfigError, match="QUIRE_AUDIT_RETENTION_DAYS"):
        create_app(env={"QUIRE_AUDIT_RETENTION_DAYS": days})


def test_audit_retention_deletes_exactly_the_old_rows(make_app: Any) -> None:
    flask_app = make_app(audit_retention_days=90)
    now = utcnow()
    ages = {"ancient": 400, "old": 91, "recent": 89, "today": 0}
    with flask_app.app_context():
        for action, days in ages.items():
            db.session.add(AuditLog(action=action, created_at=now - timedelta(days=days)))
        db.session.commit()
        assert retention.purge_audit_logs(now) == 2
        assert retention.purge_audit_logs(now) == 0
        kept = set(db.session.scalars(select(AuditLog.action)))
        db.session.remove()
    assert kept == {"recent", "today"}


def _finished_job(flask_app: APIFlask, headers: dict[str, str], days_ago: int) -> str:
    from backend.services.split import split_job

    job_id: str = upload(
        flask_app.test_client(), headers, blank_pdf(3), pages_per_chunk=1
    ).get_json()["job_id"]
    with flask_app.app_context():
        split_job(job_id)
        db.session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status="completed", finished_at=utcnow() - timedelta(days=days_ago))
        )
        db.session.commit()
        db.session.remove()
    return job_id


def _input_blobs(flask_app: APIFlask, job_id: str) -> list[bool]:
    with flask_app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None
        keys = [
            job.source_key,
            *db.session.scalars(select(JobChunk.storage_key).where(JobChunk.job_id == job_id)),
        ]
        store = runtime.blobs()
        present = [store.exists(key) for key in keys]
        db.session.remove()
    return present


def test_blob_retention_deletes_inputs_of_old_finished_jobs_and_keeps_rows(make_app: Any) -> None:
    flask_app = make_app(blob_retention_days=30)
    headers = user_headers(flask_app, "blobs@example.com")
    old = _finished_job(flask_app, headers, days_ago=31)
    recent = _finished_job(flask_app, headers, days_ago=29)
    assert _input_blobs(flask_app, old) == [True] * 4
    with flask_app.app_context():
        assert retention.purge_finished_blobs() == 1
        assert retention.purge_finished_blobs() == 0
        rows = db.session.scalar(text("SELECT count(*) FROM job_chunks"))
        db.session.remove()
    assert _input_blobs(flask_app, old) == [False] * 4
    assert _input_blobs(flask_app, recent) == [True] * 4
    assert rows == 6


def test_retry_after_blob_retention_is_refused_up_front(make_app: Any) -> None:
    flask_app = make_app(blob_retention_days=30)
    headers = user_headers(flask_app, "expired@example.com")
    job_id = _finished_job(flask_app, headers, days_ago=31)
    with flask_app.app_context():
        db.session.execute(
            update(JobChunk).where(JobChunk.job_id == job_id).values(status="failed")
        )
        db.session.commit()
        assert retention.purge_finished_blobs() == 1
        db.session.remove()

    response = flask_app.test_client().post(
        f"/api/v1/jobs/{job_id}/chunks/retry", headers=headers, json={}
    )

    assert assert_error(response, 410, "INPUT_EXPIRED") == {"missing_chunks": 3}
    assert "upload the PDF again" in response.get_json()["error"]["message"]
    with flask_app.app_context():
        job = db.session.get(Job, job_id)
        assert job is not None
        assert (job.status, job.round) == ("completed", 0)  # no round was opened
        statuses = set(db.session.scalars(select(JobChunk.status).where(JobChunk.job_id == job_id)))
        db.session.remove()
    assert statuses == {"failed"}


def _result(sentences: int, words: int = 20) -> dict[str, Any]:
    text_ = " ".join(["mot"] * words)
    return {
        "sentences": [{"text": text_, "page": 1} for _ in range(sentences)],
        "pages_without_text": [],
        "metadata": {},
    }


def test_results_over_the_limit_move_to_the_blob_store(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    flask_app = make_app(result_max_kb=64, result_warn_kb=32)
    small, warned, huge = _result(10), _result(500), _result(1000)  # ~1, ~45, ~90 KB
    with caplog.at_level(logging.WARNING), flask_app.app_context():
        assert store_result("job-x", 1, small) == small
        assert store_result("job-x", 2, warned) == warned
        pointer = store_result("job-x", 3, huge)
        assert set(pointer) == {POINTER_KEY, "size", "sentence_count"}
        assert pointer["sentence_count"] == 1000
        assert runtime.blobs().exists(pointer[POINTER_KEY])
        assert load_result(pointer) == huge
        assert load_result(small) == small
    messages = [r.getMessage() for r in caplog.records]
    assert any("chunk 2: result is" in m and "warning above 32 KB" in m for m in messages)
    assert any("chunk 3: result is" in m and "stored as blob" in m for m in messages)


def test_finalize_merges_a_result_stored_as_a_blob(make_app: Any) -> None:
    from backend.services.split import split_job

    flask_app = make_app(result_max_kb=16, result_warn_kb=8)
    headers = user_headers(flask_app, "big@example.com")
    client = flask_app.test_client()
    job_id = upload(client, headers, blank_pdf(2), pages_per_chunk=1, overlap_pages=0).get_json()[
        "job_id"
    ]
    with flask_app.app_context():
        split_job(job_id)
        for chunk in db.session.scalars(select(JobChunk).where(JobChunk.job_id == job_id)):
            page = chunk.page_start
            big = {
                "sentences": [
                    {"text": f"page {page} n{i} " + "x" * 40, "page": page} for i in range(400)
                ],
                "pages_without_text": [],
                "metadata": {},
            }
            chunk.status = "success"
            chunk.result_json = store_result(job_id, chunk.chunk_id, big)
            assert POINTER_KEY in chunk.result_json
        db.session.commit()
        assert finalize.finalize_job(job_id, 0) == "completed"
        db.session.remove()
    result = client.get(f"/api/v1/jobs/{job_id}/result", headers=headers).get_json()
    assert len(result["sentences"]) == 800
    chunks = client.get(f"/api/v1/jobs/{job_id}/chunks", headers=headers).get_json()
    assert [c["sentence_count"] for c in chunks["items"]] == [400, 400]


def test_stored_snapshots_keep_at_most_max_items_per_array(make_app: Any) -> None:
    from backend.services.split import split_job

    flask_app = make_app(snapshot_max_items=10)
    headers = user_headers(flask_app, "snap@example.com")
    client = flask_app.test_client()
    job_id = upload(client, headers, blank_pdf(12), pages_per_chunk=1, overlap_pages=0).get_json()[
        "job_id"
    ]
    with flask_app.app_context():
        split_job(job_id)
        for chunk in db.session.scalars(select(JobChunk).where(JobChunk.job_id == job_id)):
            chunk.status = "success"
            chunk.result_json = {"sentences": [], "pages_without_text": [chunk.page_start]}
        db.session.commit()
        assert finalize.finalize_job(job_id, 0) == "completed"
        db.session.execute(
            update(JobChunk).where(JobChunk.job_id == job_id).values(status="failed")
        )
        db.session.commit()
        db.session.remove()

    summary = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["result"]
    assert summary["pages_without_text"] == list(range(1, 11))
    assert summary["truncated"] == {"pages_without_text": 12}
    full = client.get(f"/api/v1/jobs/{job_id}/result", headers=headers).get_json()
    assert full["pages_without_text"] == list(range(1, 13))  # the result file stays complete

    retried = client.post(f"/api/v1/jobs/{job_id}/chunks/retry", headers=headers, json={})
    assert retried.status_code == 202, retried.get_json()
    with flask_app.app_context():
        details = db.session.scalar(select(AuditLog.details).where(AuditLog.action == "retry"))
        db.session.remove()
    assert details is not None
    assert details["chunk_ids"] == list(range(10))
    assert details["truncated"] == {"chunk_ids": 12}


def test_uploads_are_rate_limited_per_user_with_retry_after(make_app: Any) -> None:
    flask_app = make_app(rate_limit_uploads="2/minute")
    client = flask_app.test_client()
    alice = user_headers(flask_app, "alice-rl@example.com")
    bob = user_headers(flask_app, "bob-rl@example.com")
    assert [upload(client, alice, blank_pdf(1)).status_code for _ in range(2)] == [202, 202]
    limited = upload(client, alice, blank_pdf(1))
    details = assert_error(limited, 429, "RATE_LIMITED")
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert details == {"limit": "2 per 1 minute"}
    assert upload(client, bob, blank_pdf(1)).status_code == 202  # per user, not global


def test_retries_are_rate_limited_and_counted_in_redis_in_service_mode(
    make_app: Any, ops_redis: redis.Redis
) -> None:
    limits = redis.Redis.from_url(f"{REDIS}/{OPS_LIMITS_DB}")
    limits.flushdb()
    flask_app = make_app(
        **service_overrides(f"{REDIS}/{OPS_REDIS_DB}"), rate_limit_retries="1/minute"
    )
    client = flask_app.test_client()
    headers = user_headers(flask_app, "retry-rl@example.com")
    job_id = _finished_job(flask_app, headers, days_ago=0)
    first = client.post(f"/api/v1/jobs/{job_id}/chunks/retry", json={}, headers=headers)
    assert first.status_code == 409  # nothing failed: refused, but it counts
    second = client.post(f"/api/v1/jobs/{job_id}/chunks/retry", json={}, headers=headers)
    assert_error(second, 429, "RATE_LIMITED")
    assert list(limits.scan_iter("*quire-ratelimit*"))
    limits.flushdb()
    limits.close()
