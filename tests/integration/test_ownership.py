"""Another user's job is a 404 with no data, on every endpoint; operators see everything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration


@pytest.fixture
def alices_job(
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    set_chunks: Callable[..., None],
) -> str:
    """Alice's split job, chunk 1 failed (retryable), with a filename only she should see."""
    job_id = create_job(alice, pages=25, pages_per_chunk=10, name="alice-secret-diary.pdf")
    split(job_id)
    set_chunks(job_id, [1], status="failed", last_error_code="LLM_TIMEOUT", error_retryable=True)
    return job_id


REQUESTS = [
    ("get", "/api/v1/jobs/{id}", None),
    ("get", "/api/v1/jobs/{id}/chunks", None),
    ("get", "/api/v1/jobs/{id}/chunks?status=failed", None),
    ("get", "/api/v1/jobs/{id}/result", None),
    ("get", "/api/v1/jobs/{id}/result?format=csv", None),
    ("post", "/api/v1/jobs/{id}/chunks/retry", {}),
    ("post", "/api/v1/jobs/{id}/chunks/retry", {"chunk_ids": [1], "force": True}),
    ("post", "/api/v1/jobs/{id}/cancel", None),
    ("delete", "/api/v1/jobs/{id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
def test_other_users_job_is_404_not_found_and_reveals_nothing(
    client: FlaskClient,
    alices_job: str,
    bob: dict[str, str],
    job_row: Callable[..., Any],
    chunk_rows: Callable[..., Any],
    audit_rows: Callable[..., Any],
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    before_job, before_chunks = job_row(alices_job), chunk_rows(alices_job)

    response = getattr(client, method)(path.format(id=alices_job), headers=bob, json=body)

    assert_error(response, 404, "NOT_FOUND")
    text = response.get_data(as_text=True)
    assert "alice" not in text
    assert "secret-diary" not in text
    # Nothing changed: no retry, no cancel, no delete, no audit entry.
    assert job_row(alices_job) == before_job
    assert chunk_rows(alices_job) == before_chunks
    assert audit_rows(alices_job) == []


def test_other_users_job_and_a_missing_job_answer_the_same(
    client: FlaskClient, alices_job: str, bob: dict[str, str]
) -> None:
    missing = "00000000-0000-0000-0000-000000000000"

    theirs = client.get(f"/api/v1/jobs/{alices_job}", headers=bob)
    nowhere = client.get(f"/api/v1/jobs/{missing}", headers=bob)

    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.get_json()["error"]["message"].replace(alices_job, "ID") == nowhere.get_json()[
        "error"
    ]["message"].replace(missing, "ID")


def test_job_list_shows_only_the_callers_jobs(
    client: FlaskClient,
    alices_job: str,
    create_job: Callable[..., str],
    bob: dict[str, str],
    alice: dict[str, str],
) -> None:
    bobs_job = create_job(bob)

    bobs_list = client.get("/api/v1/jobs", headers=bob).get_json()
    alices_list = client.get("/api/v1/jobs", headers=alice).get_json()
    bobs_filtered = client.get("/api/v1/jobs?status=processing", headers=bob).get_json()

    assert [j["id"] for j in bobs_list["items"]] == [bobs_job]
    assert bobs_list["pagination"]["total"] == 1
    assert [j["id"] for j in alices_list["items"]] == [alices_job]
    assert bobs_filtered["items"] == []
    assert bobs_filtered["pagination"]["total"] == 0


def test_operator_lists_and_reads_everyones_jobs(
    client: FlaskClient,
    alices_job: str,
    create_job: Callable[..., str],
    bob: dict[str, str],
    operator: dict[str, str],
) -> None:
    bobs_job = create_job(bob)

    listed = client.get("/api/v1/jobs", headers=operator).get_json()
    job = client.get(f"/api/v1/jobs/{alices_job}", headers=operator)
    chunks = client.get(f"/api/v1/jobs/{alices_job}/chunks?status=failed", headers=operator)

    assert {j["id"] for j in listed["items"]} == {alices_job, bobs_job}
    assert job.status_code == 200
    assert job.get_json()["filename"] == "alice-secret-diary.pdf"
    assert chunks.status_code == 200
    assert [c["chunk_id"] for c in chunks.get_json()["items"]] == [1]


def test_operator_may_retry_another_users_chunks_and_is_audited_as_the_operator(
    client: FlaskClient,
    alices_job: str,
    make_user: Any,
    chunk_rows: Callable[..., Any],
    audit_rows: Callable[..., Any],
) -> None:
    operator_id, operator = make_user("night-shift@example.com", role="operator")

    response = client.post(f"/api/v1/jobs/{alices_job}/chunks/retry", json={}, headers=operator)

    assert response.status_code == 202
    assert response.get_json()["chunk_ids"] == [1]
    assert chunk_rows(alices_job)[1]["status"] == "retry_scheduled"
    logs = audit_rows(alices_job)
    assert [(log["action"], log["user_id"]) for log in logs] == [("retry", operator_id)]


def test_owner_may_retry_own_chunks(
    client: FlaskClient, alices_job: str, alice: dict[str, str], chunk_rows: Callable[..., Any]
) -> None:
    response = client.post(f"/api/v1/jobs/{alices_job}/chunks/retry", json={}, headers=alice)

    assert response.status_code == 202
    assert chunk_rows(alices_job)[1]["status"] == "retry_scheduled"
