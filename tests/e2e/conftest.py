"""End-to-end fixtures: real Redis (our own DB numbers), real Postgres, a real worker.

The worker is Celery's own embedded test worker (threads pool) consuming every
Quire queue from Redis, so the chord, its counter and its body run exactly as in
service mode.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from apiflask import APIFlask
from celery.contrib.testing.worker import start_worker
from flask.testing import FlaskClient

from backend.celery_app import QUEUES
from tests.conftest import build_app, dispose, truncate_all

REDIS = os.environ.get("QUIRE_TEST_REDIS", "redis://127.0.0.1:6379")
BROKER_DB, RESULT_DB = 11, 12
TERMINAL = {"completed", "partial", "failed", "cancelled"}


@pytest.fixture(scope="session")
def e2e_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    for number in (BROKER_DB, RESULT_DB):
        redis.Redis.from_url(f"{REDIS}/{number}").flushdb()
    flask_app = build_app(
        database_url,
        tmp_path_factory.mktemp("quire-e2e"),
        broker_url=f"{REDIS}/{BROKER_DB}",
        result_backend=f"{REDIS}/{RESULT_DB}",
        secret_key="e2e-secret-0123456789abcdef0123456789",
        jwt_secret_key="e2e-jwt-secret-0123456789abcdef0123",
        retry_backoff_seconds=0.2,
    )
    yield flask_app
    dispose(flask_app)


@contextlib.contextmanager
def running_worker(flask_app: APIFlask) -> Iterator[Any]:
    """Celery's embedded test worker (threads) on every Quire queue of ``flask_app``."""
    with start_worker(
        flask_app.extensions["celery"],
        pool="threads",
        concurrency=4,
        perform_ping_check=False,
        queues=list(QUEUES),
        loglevel="WARNING",
        shutdown_timeout=30.0,
    ) as worker:
        yield worker


@pytest.fixture(scope="session")
def worker(e2e_app: APIFlask) -> Iterator[Any]:
    with running_worker(e2e_app) as running:
        yield running


@pytest.fixture
def e2e_client(e2e_app: APIFlask, worker: Any) -> Iterator[FlaskClient]:
    yield e2e_app.test_client()
    truncate_all(e2e_app)
    # The result cache's Redis layer is state like its table: each test starts cold.
    broker = redis.Redis.from_url(f"{REDIS}/{BROKER_DB}")
    for key in broker.scan_iter(match="quire:result-cache:*"):
        broker.delete(key)
    broker.close()


@pytest.fixture
def user_headers(e2e_app: APIFlask, e2e_client: FlaskClient) -> dict[str, str]:
    account = {"email": "reader@example.com", "password": "long enough pw"}
    registered = e2e_client.post("/api/v1/auth/register", json=account)
    assert registered.status_code == 202, registered.get_json()
    response = e2e_client.post("/api/v1/auth/login", json=account)
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def wait_for(
    client: FlaskClient,
    headers: dict[str, str],
    job_id: str,
    statuses: set[str] | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Poll the API until the job reaches one of ``statuses`` (default: any terminal)."""
    wanted = statuses or TERMINAL
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}", headers=headers).get_json()
        if job["status"] in wanted:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {job.get('status')} after {timeout}s: {job}")


def fixture_path(name: str) -> Path:
    return Path(__file__).resolve().parent.parent / "fixtures" / name


@pytest.fixture(scope="session")
def live_server(e2e_app: APIFlask, worker: Any) -> Iterator[str]:
    """The e2e app on a real HTTP port (threaded, like gunicorn's gthread workers).

    For clients that speak HTTP themselves: the CLI (requests) and the browser.
    """
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, e2e_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
