"""Shared fixtures: a real PostgreSQL database and the Flask apps bound to it.

The database ``quire_test`` (override with QUIRE_TEST_DB) is ours: it is dropped
and created at the start of the session. Tables are truncated after every test
that used the database, because services commit (often from worker threads),
which an outer transaction could not roll back.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from pypdf import PdfWriter
from sqlalchemy import select, text

from backend import create_app
from backend.extensions import db
from backend.models import JobChunk, User
from backend.pipeline import processors
from backend.services import tokens, users
from tests.fakes.processors import Script, ScriptedProcessor

PG_HOST = os.environ.get("QUIRE_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("QUIRE_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("QUIRE_TEST_PG_USER", "postgres")
TEST_DB = os.environ.get("QUIRE_TEST_DB", "quire_test")
FIXTURES = Path(__file__).parent / "fixtures"


def pg_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def recreate_database(name: str) -> str:
    """Drop and create a database of ours; returns its URL."""
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def require_tool(path: Path, hint: str) -> None:
    """Skip when the Debian tool at ``path`` is missing, or fail when it must be there.

    ``.ci/run`` sets ``QUIRE_REQUIRE_TOOLS=1`` after ``make`` installed the tools as
    root, so in CI a missing tool is a loud failure, never a silent skip.
    """
    if path.exists():
        return
    message = f"{path} is not installed here: {hint}"
    if os.environ.get("QUIRE_REQUIRE_TOOLS") == "1":
        pytest.fail(message + " (QUIRE_REQUIRE_TOOLS=1: CI must have it)")
    pytest.skip(message)


def blank_pdf(pages: int) -> bytes:
    """A PDF of ``pages`` blank pages (for tests where the content does not matter)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def database_url() -> str:
    return recreate_database(TEST_DB)


def dispose(flask_app: APIFlask) -> None:
    """Close the app's pooled connections (left open, they warn at exit)."""
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


# Per-user quotas off unless a test asks: many tests leave a dozen jobs of one
# user queued (nothing consumes them). tests/security/ runs with the real caps.
NO_USER_QUOTAS = {"max_active_jobs": 0, "max_queued_chunks": 0}


def build_app(database_url: str, data_dir: Path, **overrides: Any) -> APIFlask:
    settings = {"database_url": database_url, "data_dir": data_dir, **NO_USER_QUOTAS, **overrides}
    app = create_app(settings)
    with app.app_context():
        upgrade(directory=str(app.extensions["migrate"].directory))
    return app


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    """The API on real Postgres; messages go to an in-memory queue nobody consumes."""
    flask_app = queue_only_app(database_url, tmp_path_factory.mktemp("quire-data"))
    yield flask_app
    dispose(flask_app)


def truncate_all(flask_app: APIFlask) -> None:
    """Empty the tables between tests.

    A worker of the test that just ended may still be finishing a task (a
    cancelled job's last message): TRUNCATE's exclusive locks can deadlock with
    its reads, and Postgres then aborts one side. The TRUNCATE is retried.
    """
    from sqlalchemy.exc import OperationalError

    statement = text(
        "TRUNCATE audit_logs, job_chunks, jobs, users, result_cache RESTART IDENTITY CASCADE"
    )
    with flask_app.app_context():
        for attempt in range(5):
            try:
                db.session.execute(statement)
                db.session.commit()
                break
            except OperationalError as exc:
                db.session.rollback()
                if "deadlock detected" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
    # User ids restart at 1: rate-limit counters keyed by user must restart too.
    flask_app.extensions["quire_limiter"].reset()


@pytest.fixture
def client(app: APIFlask) -> Iterator[FlaskClient]:
    yield app.test_client()
    truncate_all(app)


@pytest.fixture
def make_user(app: APIFlask) -> Any:
    """``make_user(email, role="user") -> (user_id, auth headers)``."""

    def _make(email: str, role: str = "user") -> tuple[int, dict[str, str]]:
        with app.app_context():
            user: User = users.register_user(email, "correct horse battery", role=role)
            # Registering gives no tokens: start a session as a login does (without
            # checking the password again: one scrypt per user is enough for a fixture).
            token = tokens.start_session(user).access_token
            return user.id, {"Authorization": f"Bearer {token}"}

    return _make


@pytest.fixture
def alice(make_user: Any) -> dict[str, str]:
    return make_user("alice@example.com")[1]


@pytest.fixture
def bob(make_user: Any) -> dict[str, str]:
    return make_user("bob@example.com")[1]


@pytest.fixture
def operator(make_user: Any) -> dict[str, str]:
    return make_user("ops@example.com", role="operator")[1]


def chunk_rows(flask_app: APIFlask, job_id: str) -> list[JobChunk]:
    """A job's chunk rows in chunk order, detached from the session."""
    with flask_app.app_context():
        rows = list(
            db.session.scalars(
                select(JobChunk).where(JobChunk.job_id == job_id).order_by(JobChunk.chunk_id)
            )
        )
        db.session.expunge_all()
        return rows


def result(client: FlaskClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    """The job's JSON result; the job must have one."""
    response = client.get(f"/api/v1/jobs/{job_id}/result?format=json", headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def queue_only_app(database_url: str, data_dir: Path, **overrides: Any) -> APIFlask:
    """The API on real Postgres; messages go to an in-memory queue nobody consumes."""
    return build_app(
        database_url,
        data_dir,
        broker_url="memory://",
        result_backend="cache+memory://",
        embedded_worker=False,
        **overrides,
    )


def upload(
    client: FlaskClient, headers: dict[str, str], pdf: bytes, name: str = "book.pdf", **form: Any
) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(pdf), name)}
    data.update({k: str(v) for k, v in form.items()})
    response = client.post(
        "/api/v1/jobs", data=data, headers=headers, content_type="multipart/form-data"
    )
    # The test client spools bodies over 500 KB to a temporary file it never
    # closes; left to the GC it is a ResourceWarning (an error here).
    response.request.environ["wsgi.input"].close()
    return response


@pytest.fixture
def script() -> Iterator[Script]:
    """Register the scripted processor (tests/fakes/processors.py) for one test."""
    current = Script()
    processors.register("scripted", lambda: ScriptedProcessor(current))
    yield current
    processors.unregister("scripted")
