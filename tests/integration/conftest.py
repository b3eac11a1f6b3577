"""Helpers for integration tests: jobs created through the API, rows changed directly.

The worker never runs here (messages are queued, not consumed), so a test that
needs chunks calls the split service itself and then sets chunk rows to the state
it wants, the way a worker would have left them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from backend.extensions import db
from backend.models import AuditLog, Job, JobChunk
from tests.conftest import blank_pdf, build_app, dispose, upload

REDIS = os.environ.get("QUIRE_TEST_REDIS", "redis://127.0.0.1:6379")


@contextlib.contextmanager
def redis_service_app(
    database_url: str, data_dir: Path, broker_db: int, name: str, **overrides: Any
) -> Iterator[APIFlask]:
    """A migrated service-mode app whose broker and backend are our Redis DB ``broker_db``.

    The DB is flushed first; nothing consumes it (tests inspect what is queued).
    The app's pool is closed afterwards.
    """
    url = f"{REDIS}/{broker_db}"
    redis.Redis.from_url(url).flushdb()
    flask_app = build_app(
        database_url,
        data_dir,
        broker_url=url,
        result_backend=url,
        secret_key=f"{name}-secret-0123456789abcdef0123456789",
        jwt_secret_key=f"{name}-jwt-secret-0123456789abcdef0123456789",
        **overrides,
    )
    try:
        yield flask_app
    finally:
        dispose(flask_app)


@pytest.fixture(scope="session", autouse=True)
def _dispose_app_engine(app: APIFlask) -> Iterator[None]:
    """Close the session app's pooled connections at the end.

    Once another app is built, Celery's default app is no longer this one's, so the
    session app can be garbage-collected with its pool still open: psycopg's
    ResourceWarning, an error under ``filterwarnings = error``. (Belongs in the
    ``app`` fixture of tests/conftest.py.)
    """
    yield
    with app.app_context():
        db.engine.dispose()


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Assert the error contract ``{"error": {"code", "message", "details"}}``; return details."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str), body
    assert body["error"]["message"], body
    assert isinstance(body["error"]["details"], dict), body
    details: dict[str, Any] = body["error"]["details"]
    return details


def sentence_result(page_start: int, page_end: int) -> dict[str, Any]:
    """A chunk's ``result_json`` with one sentence per owned page: ``"page N"``."""
    return {
        "sentences": [{"text": f"page {n}", "page": n} for n in range(page_start, page_end + 1)],
        "pages_without_text": [],
        "metadata": {},
    }


@pytest.fixture
def create_job(client: FlaskClient) -> Callable[..., str]:
    """``create_job(headers, pages=3, **form) -> job_id`` through POST /api/v1/jobs."""

    def _create(headers: dict[str, str], pages: int = 3, **form: Any) -> str:
        response = upload(client, headers, blank_pdf(pages), **form)
        assert response.status_code == 202, response.get_json()
        job_id: str = response.get_json()["job_id"]
        return job_id

    return _create


@pytest.fixture
def split(app: APIFlask) -> Callable[[str], str]:
    """Run the split service for a job, as the ``split_job`` task would."""

    def _split(job_id: str) -> str:
        from backend.services.split import split_job

        with app.app_context():
            return split_job(job_id)

    return _split


@pytest.fixture
def set_chunks(app: APIFlask) -> Callable[..., None]:
    """``set_chunks(job_id, chunk_ids, **columns)``: change chunk rows as a worker would."""

    def _set(job_id: str, chunk_ids: Iterable[int], **values: Any) -> None:
        with app.app_context():
            db.session.execute(
                update(JobChunk)
                .where(JobChunk.job_id == job_id, JobChunk.chunk_id.in_(list(chunk_ids)))
                .values(**values)
            )
            db.session.commit()

    return _set


@pytest.fixture
def succeed_chunks(app: APIFlask) -> Callable[..., None]:
    """Mark chunks ``success`` with one sentence per owned page (all chunks by default)."""

    def _succeed(job_id: str, chunk_ids: Iterable[int] | None = None) -> None:
        with app.app_context():
            stmt = select(JobChunk).where(JobChunk.job_id == job_id)
            if chunk_ids is not None:
                stmt = stmt.where(JobChunk.chunk_id.in_(list(chunk_ids)))
            for chunk in db.session.scalars(stmt):
                chunk.status = "success"
                chunk.result_json = sentence_result(chunk.page_start, chunk.page_end)
            db.session.commit()

    return _succeed


@pytest.fixture
def job_row(app: APIFlask) -> Callable[[str], dict[str, Any] | None]:
    """The job's row as a dict of columns (None once deleted), read in a fresh session."""

    def _row(job_id: str) -> dict[str, Any] | None:
        with app.app_context():
            job = db.session.get(Job, job_id)
            if job is None:
                return None
            return {c.name: getattr(job, c.key) for c in Job.__table__.columns}

    return _row


@pytest.fixture
def chunk_rows(app: APIFlask) -> Callable[[str], list[dict[str, Any]]]:
    """The job's chunk rows, by ``chunk_id``, as dicts of columns."""

    def _rows(job_id: str) -> list[dict[str, Any]]:
        with app.app_context():
            chunks = db.session.scalars(
                select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
            )
            return [
                {c.name: getattr(ch, c.key) for c in JobChunk.__table__.columns} for ch in chunks
            ]

    return _rows


@pytest.fixture
def audit_rows(app: APIFlask) -> Callable[[str], list[dict[str, Any]]]:
    def _rows(job_id: str) -> list[dict[str, Any]]:
        with app.app_context():
            logs = db.session.scalars(
                select(AuditLog).where(AuditLog.job_id == job_id).order_by(AuditLog.id)
            )
            return [
                {"action": log.action, "user_id": log.user_id, "details": log.details}
                for log in logs
            ]

    return _rows
