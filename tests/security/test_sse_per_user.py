"""Live progress streams are capped per user, not only per process (issue 12, finding 9).

The audit held every stream of a process with one account (100 of them) and
locked everyone else out. Now one user holds at most their share; the next of
theirs is 429 ``TOO_MANY_USER_STREAMS`` while another user still gets one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from backend.services.progress import hub_for
from tests.conftest import blank_pdf, build_app, dispose, truncate_all, upload
from tests.integration.conftest import assert_error

PER_USER = 3


@pytest.fixture(scope="module")
def sse_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[APIFlask]:
    flask_app = build_app(
        database_url,
        Path(tmp_path_factory.mktemp("sse-per-user")),
        broker_url="memory://",
        result_backend="cache+memory://",
        embedded_worker=False,
        sse_max_streams=PER_USER + 2,
        sse_max_streams_per_user=PER_USER,
        sse_poll_seconds=0.05,
        sse_keepalive_seconds=0.2,
    )
    yield flask_app
    dispose(flask_app)


@pytest.fixture
def sse_client(sse_app: APIFlask) -> Iterator[FlaskClient]:
    yield sse_app.test_client()
    truncate_all(sse_app)


def headers_for(client: FlaskClient, email: str) -> dict[str, str]:
    account = {"email": email, "password": "correct horse battery"}
    # 201 with tokens, or 202 without (enumeration-safe register): log in either way.
    assert client.post("/api/v1/auth/register", json=account).status_code in (201, 202)
    token = client.post("/api/v1/auth/login", json=account).get_json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def open_stream(client: FlaskClient, job_id: str, headers: dict[str, str]) -> Any:
    return client.get(f"/api/v1/jobs/{job_id}/events", headers=headers, buffered=False)


def test_one_user_cannot_take_every_stream_of_a_process(
    sse_app: APIFlask, sse_client: FlaskClient
) -> None:
    alice = headers_for(sse_client, "alice@example.com")
    bob = headers_for(sse_client, "bob@example.com")
    alice_job = upload(sse_client, alice, blank_pdf(2)).get_json()["job_id"]
    bob_job = upload(sse_client, bob, blank_pdf(2)).get_json()["job_id"]
    held = [open_stream(sse_client, alice_job, alice) for _ in range(PER_USER)]
    assert [r.status_code for r in held] == [200] * PER_USER
    refused = open_stream(sse_client, alice_job, alice)
    details = assert_error(refused, 429, "TOO_MANY_USER_STREAMS")
    assert details == {"open_streams": PER_USER, "max_streams_per_user": PER_USER}
    assert refused.headers["Retry-After"] == "5"
    # Another user still gets one: the process has room for them.
    theirs = open_stream(sse_client, bob_job, bob)
    assert theirs.status_code == 200
    # A closed stream gives its slot back to its user.
    held.pop().close()
    again = open_stream(sse_client, alice_job, alice)
    assert again.status_code == 200
    for response in [*held, theirs, again]:
        response.close()
    assert hub_for(sse_app).open_streams == 0


def test_the_per_process_cap_still_holds_across_users(
    sse_app: APIFlask, sse_client: FlaskClient
) -> None:
    users = [headers_for(sse_client, f"user{n}@example.com") for n in range(3)]
    jobs = [upload(sse_client, h, blank_pdf(2)).get_json()["job_id"] for h in users]
    opened = [open_stream(sse_client, jobs[0], users[0]) for _ in range(PER_USER)]
    assert_error(open_stream(sse_client, jobs[0], users[0]), 429, "TOO_MANY_USER_STREAMS")
    opened += [open_stream(sse_client, jobs[1], users[1]) for _ in range(2)]
    assert all(r.status_code == 200 for r in opened)
    assert_error(open_stream(sse_client, jobs[2], users[2]), 503, "TOO_MANY_STREAMS")
    for response in opened:
        response.close()
    assert hub_for(sse_app).open_streams == 0
