"""GET /jobs/{id}/events without a worker: keep-alives, the stream bound, ownership, deletion.

The app here allows one open stream per process and sends a keep-alive every
0.2 s, so the limits are reached and observed in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token

from backend.cli.sse import COMMENT, lines_of, parse_events
from backend.services import users
from backend.services.progress import hub_for
from tests.conftest import blank_pdf, build_app, dispose, truncate_all, upload
from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def small_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    flask_app = build_app(
        database_url,
        Path(tmp_path_factory.mktemp("events")),
        broker_url="memory://",
        result_backend="cache+memory://",
        embedded_worker=False,
        sse_max_streams=1,
        sse_poll_seconds=0.05,
        sse_keepalive_seconds=0.2,
    )
    yield flask_app
    dispose(flask_app)


@pytest.fixture
def small_client(small_app: APIFlask) -> Iterator[FlaskClient]:
    yield small_app.test_client()
    truncate_all(small_app)


def headers_for(app: APIFlask, email: str) -> dict[str, str]:
    with app.app_context():
        user = users.register_user(email, "correct horse battery")
        return {"Authorization": f"Bearer {create_access_token(identity=str(user.id))}"}


def open_stream(client: FlaskClient, job_id: str, headers: dict[str, str]) -> Any:
    return client.get(f"/api/v1/jobs/{job_id}/events", headers=headers, buffered=False)


def test_stream_sends_keepalives_is_bounded_and_ends_when_the_job_is_deleted_while_running(
    small_app: APIFlask, small_client: FlaskClient
) -> None:
    alice = headers_for(small_app, "alice@example.com")
    job_id = upload(small_client, alice, blank_pdf(2)).get_json()["job_id"]
    first = open_stream(small_client, job_id, alice)
    assert first.status_code == 200
    events = parse_events(lines_of(first.response), comments=True)

    opening = next(events)
    assert opening.event == "progress"
    assert opening.json()["status"] == "queued"
    assert opening.json()["eta_seconds"] is None
    assert next(events) is COMMENT  # nothing changes while no worker runs: keep-alive

    refused = open_stream(small_client, job_id, alice)
    details = assert_error(refused, 503, "TOO_MANY_STREAMS")
    assert details == {"max_streams": 1}
    assert refused.headers["Retry-After"] == "5"

    assert small_client.delete(f"/api/v1/jobs/{job_id}", headers=alice).status_code == 204
    rest = [e for e in events if e is not COMMENT]
    # Deleting a running job cancels it first (one commit), then removes it; the
    # poller may see either state last, and either one ends the stream.
    assert [e.event for e in rest] == ["progress", "end"]
    assert rest[0].json()["status"] == rest[1].json()["status"]
    assert rest[1].json()["status"] in ("cancelled", "deleted")
    first.close()
    assert hub_for(small_app).open_streams == 0


def test_closing_a_stream_early_frees_its_slot(
    small_app: APIFlask, small_client: FlaskClient
) -> None:
    alice = headers_for(small_app, "alice@example.com")
    job_id = upload(small_client, alice, blank_pdf(2)).get_json()["job_id"]
    for _ in range(3):  # with one slot, only a freed slot lets the next stream open
        response = open_stream(small_client, job_id, alice)
        assert response.status_code == 200
        response.close()
    assert hub_for(small_app).open_streams == 0


def test_another_users_stream_is_404_and_a_missing_token_401(
    small_app: APIFlask, small_client: FlaskClient
) -> None:
    alice = headers_for(small_app, "alice@example.com")
    bob = headers_for(small_app, "bob@example.com")
    job_id = upload(small_client, alice, blank_pdf(2)).get_json()["job_id"]

    assert_error(open_stream(small_client, job_id, bob), 404, "NOT_FOUND")
    assert_error(open_stream(small_client, job_id, {}), 401, "UNAUTHORIZED")
    assert hub_for(small_app).open_streams == 0
