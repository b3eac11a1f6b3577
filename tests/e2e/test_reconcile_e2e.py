"""Lost messages end to end: Redis down at upload, Redis flushed mid-job, a dead
worker's lease. Each test runs its own redis-server (it stops or flushes it), a
real worker on it and Postgres; the reconciler brings every job to completion.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import JobChunk
from backend.models.types import utcnow
from backend.services import split
from backend.services.reconcile import reconcile
from tests.conftest import blank_pdf, build_app, dispose, truncate_all, upload
from tests.e2e.conftest import running_worker, wait_for
from tests.fakes.processors import Script
from tests.servers import RedisServer

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

REDISPATCH_AFTER = 2  # seconds a quiet job's waiting chunks wait before re-dispatch


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def rel_app(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, private_redis: RedisServer
) -> Iterator[APIFlask]:
    flask_app = build_app(
        database_url,
        tmp_path_factory.mktemp("reconcile-e2e"),
        broker_url=f"{private_redis.url}/0",
        result_backend=f"{private_redis.url}/1",
        secret_key="reconcile-e2e-secret-0123456789abcdef0123",
        jwt_secret_key="reconcile-e2e-jwt-secret-0123456789abcdef",
        redispatch_after_seconds=REDISPATCH_AFTER,
    )
    yield flask_app
    dispose(flask_app)


@pytest.fixture
def client(rel_app: APIFlask) -> Iterator[FlaskClient]:
    yield rel_app.test_client()
    truncate_all(rel_app)


@pytest.fixture
def headers(client: FlaskClient, private_redis: RedisServer) -> dict[str, str]:
    account = {"email": "rel@example.com", "password": "long enough pw"}
    registered = client.post("/api/v1/auth/register", json=account)
    assert registered.status_code == 202, registered.get_json()
    response = client.post("/api/v1/auth/login", json=account)
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def submit(client: FlaskClient, headers: dict[str, str], pages: int, per_chunk: int) -> Any:
    return upload(
        client,
        headers,
        blank_pdf(pages),
        processor="scripted",
        pages_per_chunk=per_chunk,
        overlap_pages=0,
    )


def result_pages(client: FlaskClient, headers: dict[str, str], job_id: str) -> list[int]:
    response = client.get(f"/api/v1/jobs/{job_id}/result", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [s["page"] for s in response.get_json()["sentences"]]


def chunk_statuses(flask_app: APIFlask, job_id: str) -> list[str]:
    with flask_app.app_context():
        return list(
            db.session.scalars(
                select(JobChunk.status).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
            )
        )


def run_reconcile(flask_app: APIFlask) -> Any:
    with flask_app.app_context():
        report = reconcile()
        db.session.remove()
        return report


def test_upload_with_redis_down_answers_202_fast_and_completes_after_reconcile(
    rel_app: APIFlask,
    client: FlaskClient,
    headers: dict[str, str],
    private_redis: RedisServer,
    script: Script,
) -> None:
    private_redis.stop()
    try:
        started = time.monotonic()
        response = submit(client, headers, pages=6, per_chunk=2)
        elapsed = time.monotonic() - started
        assert response.status_code == 202, response.get_json()
        assert elapsed < 3.0, f"upload took {elapsed:.2f}s with Redis down"
        job_id = response.get_json()["job_id"]
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        assert job["status"] == "queued"
        assert job["dispatch_pending"] is True
    finally:
        private_redis.start()

    with running_worker(rel_app):
        report = run_reconcile(rel_app)
        assert report.outbox_jobs == (job_id,)
        job = wait_for(client, headers, job_id, timeout=30)
    assert job["status"] == "completed", job
    assert job["dispatch_pending"] is False
    assert result_pages(client, headers, job_id) == [1, 2, 3, 4, 5, 6]
    assert dict(script.calls) == {0: 1, 1: 1, 2: 1}


def test_flushall_mid_job_then_reconcile_completes_with_every_page_once(
    rel_app: APIFlask,
    client: FlaskClient,
    headers: dict[str, str],
    private_redis: RedisServer,
    script: Script,
) -> None:
    script.plan = {index: ["sleep:0.4"] for index in range(10)}
    with running_worker(rel_app):
        response = submit(client, headers, pages=30, per_chunk=3)
        assert response.status_code == 202
        job_id = response.get_json()["job_id"]
        deadline = time.monotonic() + 20
        while chunk_statuses(rel_app, job_id).count("success") < 2:
            assert time.monotonic() < deadline, chunk_statuses(rel_app, job_id)
            time.sleep(0.02)
        redis.Redis(port=private_redis.port).flushall()

        # What was running finishes; the rest of the chord is gone with Redis's data.
        while "processing" in chunk_statuses(rel_app, job_id):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        lost = chunk_statuses(rel_app, job_id).count("pending")
        assert lost > 0, "the flush came too late to lose anything"
        time.sleep(REDISPATCH_AFTER + 0.5)
        assert client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()["status"] == (
            "processing"
        )

        report = run_reconcile(rel_app)
        assert len(report.stale_chunks) == lost
        job = wait_for(client, headers, job_id, timeout=30)
    assert job["status"] == "completed", job
    assert result_pages(client, headers, job_id) == list(range(1, 31))
    assert dict(script.calls) == {index: 1 for index in range(10)}


def test_chunk_left_processing_by_a_dead_worker_completes_after_reconcile(
    rel_app: APIFlask,
    client: FlaskClient,
    headers: dict[str, str],
    private_redis: RedisServer,
    script: Script,
) -> None:
    response = submit(client, headers, pages=2, per_chunk=5)  # no worker yet: queued
    job_id = response.get_json()["job_id"]
    with rel_app.app_context():
        assert split.split_job(job_id) == "processing"
        # The worker that claimed the chunk died: its lease ran out, its message is gone.
        db.session.execute(
            update(JobChunk)
            .where(JobChunk.job_id == job_id)
            .values(
                status="processing",
                attempts=1,
                updated_at=utcnow() - timedelta(seconds=400),
                lease_expires_at=utcnow() - timedelta(seconds=1),
            )
        )
        db.session.commit()
        db.session.remove()
    redis.Redis(port=private_redis.port).flushall()

    with running_worker(rel_app):
        report = run_reconcile(rel_app)
        assert len(report.expired_lease_chunks) == 1
        job = wait_for(client, headers, job_id, timeout=30)
    assert job["status"] == "completed", job
    with rel_app.app_context():
        chunk = db.session.scalars(select(JobChunk).where(JobChunk.job_id == job_id)).one()
        assert (chunk.lost_deliveries, chunk.attempts) == (1, 2)
        db.session.remove()
    assert dict(script.calls) == {0: 1}
