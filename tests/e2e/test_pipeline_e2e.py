"""Upload → split → chord → finalize, through real Redis, Postgres and a worker."""

from __future__ import annotations

import time
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select

from backend.extensions import db
from backend.models import AuditLog
from backend.pipeline.segment import count_words
from tests.conftest import blank_pdf, chunk_rows, result, upload
from tests.e2e.conftest import fixture_path, wait_for
from tests.fakes.processors import Script

pytestmark = pytest.mark.e2e


def submit(client: FlaskClient, headers: dict[str, str], pages: int, **form: Any) -> str:
    form.setdefault("processor", "scripted")
    form.setdefault("pages_per_chunk", 5)
    form.setdefault("overlap_pages", 0)
    response = upload(client, headers, blank_pdf(pages), **form)
    assert response.status_code == 202, response.get_json()
    job_id: str = response.get_json()["job_id"]
    return job_id


def test_upload_completes_with_every_page_once(
    e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    job_id = submit(e2e_client, user_headers, pages=42)
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed"
    assert job["total_chunks"] == 9
    assert job["progress"]["chunks"]["success"] == 9
    pages = [s["page"] for s in result(e2e_client, user_headers, job_id)["sentences"]]
    assert pages == list(range(1, 43))
    assert script.total_calls() == 9


def test_local_processor_completes_real_text_pdf(
    e2e_client: FlaskClient, user_headers: dict[str, str]
) -> None:
    pdf = fixture_path("corpus/pdfjs__pdkids.pdf").read_bytes()
    response = upload(e2e_client, user_headers, pdf, name="pdkids.pdf", pages_per_chunk=10)
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    job = wait_for(e2e_client, user_headers, job_id, timeout=120)
    assert job["status"] == "completed", job
    assert job["page_count"] == 55
    sentences = result(e2e_client, user_headers, job_id)["sentences"]
    assert len(sentences) > 100
    assert max(count_words(s["text"]) for s in sentences) <= 8


def test_transient_failure_is_retried_automatically_then_completes(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    script.plan = {2: ["transient"]}
    job_id = submit(e2e_client, user_headers, pages=20)
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed"
    assert job["retry_count"] == 1
    assert job["round"] == 1
    attempts = {c.chunk_id: c.attempts for c in chunk_rows(e2e_app, job_id)}
    assert attempts == {0: 1, 1: 1, 2: 2, 3: 1}
    assert script.calls[2] == 2


def test_permanent_failure_ends_partial_with_missing_pages_then_manual_retry_completes(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    script.plan = {1: ["permanent"]}
    job_id = submit(e2e_client, user_headers, pages=15)
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "partial"
    assert job["retry_count"] == 0  # a permanent error burns no retry round
    assert job["result"]["missing_pages"] == [6, 7, 8, 9, 10]
    body = result(e2e_client, user_headers, job_id)
    assert body["missing_page_ranges"] == "6-10"
    assert [s["page"] for s in body["sentences"]] == [1, 2, 3, 4, 5, 11, 12, 13, 14, 15]
    failed = e2e_client.get(f"/api/v1/jobs/{job_id}/chunks?status=failed", headers=user_headers)
    assert [c["chunk_id"] for c in failed.get_json()["items"]] == [1]
    assert failed.get_json()["items"][0]["last_error_code"] == "NO_TEXT"

    # The fault is gone (the script is exhausted): an operator-style manual retry.
    retry = e2e_client.post(
        f"/api/v1/jobs/{job_id}/chunks/retry", json={"chunk_ids": [1]}, headers=user_headers
    )
    assert retry.status_code == 202, retry.get_json()
    assert retry.get_json() == {"job_id": job_id, "retried_count": 1, "chunk_ids": [1], "round": 1}
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed"
    assert [s["page"] for s in result(e2e_client, user_headers, job_id)["sentences"]] == list(
        range(1, 16)
    )
    with e2e_app.app_context():
        actions = list(db.session.scalars(select(AuditLog.action).where(AuditLog.job_id == job_id)))
    assert actions == ["retry"]


def test_force_retry_reprocesses_successful_chunks_and_finalizes_again(
    e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    job_id = submit(e2e_client, user_headers, pages=10)
    wait_for(e2e_client, user_headers, job_id)
    retry = e2e_client.post(
        f"/api/v1/jobs/{job_id}/chunks/retry", json={"force": True}, headers=user_headers
    )
    assert retry.status_code == 202
    assert retry.get_json()["retried_count"] == 2
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed"
    assert script.calls == {0: 2, 1: 2}


def test_duplicate_delivery_does_not_reprocess_chunk(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    script.plan = {0: ["sleep:1.0"]}
    job_id = submit(e2e_client, user_headers, pages=10)
    celery = e2e_app.extensions["celery"]
    deadline = time.monotonic() + 20
    while not chunk_rows(e2e_app, job_id) or chunk_rows(e2e_app, job_id)[0].status != "processing":
        assert time.monotonic() < deadline, "chunk 0 never started"
        time.sleep(0.02)
    first = chunk_rows(e2e_app, job_id)[0]
    # A second delivery while the first holds its lease, and one after it is done.
    during = celery.send_task("quire.process_chunk", args=[first.id])
    assert during.get(timeout=20)["status"] == "processing"
    wait_for(e2e_client, user_headers, job_id)
    after = celery.send_task("quire.process_chunk", args=[first.id])
    assert after.get(timeout=20) == {"chunk": first.id, "status": "success"}
    assert script.calls[0] == 1
    assert chunk_rows(e2e_app, job_id)[0].attempts == 1


def test_cancel_mid_job_stops_processor_calls(
    e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    script.plan = {i: ["sleep:0.3"] for i in range(12)}
    job_id = submit(e2e_client, user_headers, pages=60)
    deadline = time.monotonic() + 20
    while script.total_calls() == 0:
        assert time.monotonic() < deadline, "no chunk started"
        time.sleep(0.01)
    response = e2e_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=user_headers)
    cancelled_at = time.time()
    assert response.status_code == 202
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "cancelled"
    assert [t for _, t in script.call_times if t > cancelled_at] == []
    counts = job["progress"]["chunks"]
    assert counts["cancelled"] > 0
    assert counts["success"] + counts["cancelled"] == 12
    not_ready = e2e_client.get(f"/api/v1/jobs/{job_id}/result", headers=user_headers)
    assert not_ready.status_code == 409
