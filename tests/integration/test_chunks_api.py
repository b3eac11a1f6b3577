"""Split into chunk rows, list chunks, retry, cancel, delete; split of hostile PDFs.

No worker runs: the split service is called directly, and chunk rows are set to
the states a worker would have left them in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from sqlalchemy import update

from backend.extensions import db
from backend.models import Job
from backend.models.types import utcnow
from tests.conftest import FIXTURES, blank_pdf, upload
from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration

CORPUS = FIXTURES / "corpus"
ALL_CHUNK_STATUSES = {"pending", "processing", "success", "failed", "retry_scheduled", "cancelled"}


@pytest.fixture
def split_job_45(
    create_job: Callable[..., str], split: Callable[[str], str], alice: dict[str, str]
) -> str:
    """Alice's 45-page job split into 5 chunks of 10 pages with 1 page of overlap."""
    job_id = create_job(alice, pages=45, pages_per_chunk=10, overlap_pages=1)
    assert split(job_id) == "processing"
    return job_id


def test_split_creates_one_row_per_page_range_with_overlap(
    split_job_45: str, chunk_rows: Callable[..., Any], job_row: Callable[..., Any], app: APIFlask
) -> None:
    rows = chunk_rows(split_job_45)

    assert [r["chunk_id"] for r in rows] == [0, 1, 2, 3, 4]
    assert [(r["page_start"], r["page_end"]) for r in rows] == [
        (1, 10),
        (11, 20),
        (21, 30),
        (31, 40),
        (41, 45),
    ]
    assert [(r["read_start"], r["read_end"]) for r in rows] == [
        (1, 11),
        (10, 21),
        (20, 31),
        (30, 41),
        (40, 45),
    ]
    assert [r["page_count"] for r in rows] == [10, 10, 10, 10, 5]
    assert all(r["has_overlap"] for r in rows)
    assert {r["status"] for r in rows} == {"pending"}
    assert {r["attempts"] for r in rows} == {0}
    assert {r["max_retries"] for r in rows} == {3}
    store = app.extensions["quire_blobs"]
    assert all(store.exists(r["storage_key"]) for r in rows)
    job = job_row(split_job_45)
    assert job["status"] == "processing"
    assert job["total_chunks"] == 5
    assert job["page_count"] == 45
    assert job["round"] == 0


def test_split_without_overlap_reads_only_owned_pages(
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    chunk_rows: Callable[..., Any],
) -> None:
    job_id = create_job(alice, pages=12, pages_per_chunk=5, overlap_pages=0)

    split(job_id)

    rows = chunk_rows(job_id)
    assert [(r["read_start"], r["read_end"]) for r in rows] == [(1, 5), (6, 10), (11, 12)]
    assert not any(r["has_overlap"] for r in rows)


def test_single_chunk_document_has_no_overlap(
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    chunk_rows: Callable[..., Any],
) -> None:
    job_id = create_job(alice, pages=3)

    split(job_id)

    rows = chunk_rows(job_id)
    assert len(rows) == 1
    assert (rows[0]["page_start"], rows[0]["page_end"]) == (1, 3)
    assert (rows[0]["read_start"], rows[0]["read_end"]) == (1, 3)
    assert rows[0]["has_overlap"] is False


def test_second_split_is_a_noop(
    split_job_45: str, split: Callable[[str], str], chunk_rows: Callable[..., Any]
) -> None:
    before = chunk_rows(split_job_45)

    assert split(split_job_45) == "processing"

    after = chunk_rows(split_job_45)
    assert [(r["id"], r["chunk_id"], r["created_at"]) for r in after] == [
        (r["id"], r["chunk_id"], r["created_at"]) for r in before
    ]


def test_job_view_shows_progress_after_split(
    client: FlaskClient, split_job_45: str, alice: dict[str, str], set_chunks: Callable[..., None]
) -> None:
    set_chunks(split_job_45, [0, 1], status="success")
    set_chunks(split_job_45, [2], status="failed")

    job = client.get(f"/api/v1/jobs/{split_job_45}", headers=alice).get_json()

    assert job["status"] == "processing"
    assert job["page_count"] == 45
    assert job["total_chunks"] == 5
    assert job["started_at"] is not None
    assert job["progress"]["total"] == 5
    assert job["progress"]["done"] == 3
    assert job["progress"]["percent"] == 60.0
    assert job["progress"]["chunks"]["success"] == 2


# --- GET /chunks --------------------------------------------------------------------


def test_chunk_list_has_ranges_and_summary_with_every_status(
    client: FlaskClient, split_job_45: str, alice: dict[str, str]
) -> None:
    body = client.get(f"/api/v1/jobs/{split_job_45}/chunks", headers=alice).get_json()

    assert body["job_id"] == split_job_45
    assert set(body["summary"]) == ALL_CHUNK_STATUSES
    assert body["summary"]["pending"] == 5
    assert sum(body["summary"].values()) == 5
    assert [c["chunk_id"] for c in body["items"]] == [0, 1, 2, 3, 4]
    assert body["items"][0]["pages"] == [1, 10]
    assert body["items"][0]["read_pages"] == [1, 11]
    assert body["items"][4]["pages"] == [41, 45]
    assert body["items"][4]["read_pages"] == [40, 45]
    assert body["items"][4]["page_count"] == 5
    assert body["items"][0]["has_overlap"] is True
    assert body["items"][0]["sentence_count"] is None
    assert body["pagination"] == {"page": 1, "per_page": 50, "total": 5, "pages": 1}


def test_chunk_list_paginates(
    client: FlaskClient, split_job_45: str, alice: dict[str, str]
) -> None:
    url = f"/api/v1/jobs/{split_job_45}/chunks"

    first = client.get(f"{url}?per_page=2", headers=alice).get_json()
    last = client.get(f"{url}?per_page=2&page=3", headers=alice).get_json()

    assert [c["chunk_id"] for c in first["items"]] == [0, 1]
    assert first["pagination"] == {"page": 1, "per_page": 2, "total": 5, "pages": 3}
    assert [c["chunk_id"] for c in last["items"]] == [4]
    assert_error(client.get(f"{url}?per_page=0", headers=alice), 400, "INVALID_PARAMS")
    assert_error(client.get(f"{url}?page=0", headers=alice), 400, "INVALID_PARAMS")
    assert_error(client.get(f"{url}?status=bogus", headers=alice), 400, "INVALID_PARAMS")


def test_chunk_list_filters_by_status(
    client: FlaskClient, split_job_45: str, alice: dict[str, str], set_chunks: Callable[..., None]
) -> None:
    set_chunks(split_job_45, [1, 3], status="failed", last_error_code="NO_TEXT", last_error="x")
    url = f"/api/v1/jobs/{split_job_45}/chunks"

    pending = client.get(f"{url}?status=pending", headers=alice).get_json()
    failed = client.get(f"{url}?status=failed", headers=alice).get_json()

    assert [c["chunk_id"] for c in pending["items"]] == [0, 2, 4]
    assert pending["pagination"]["total"] == 3
    assert [c["chunk_id"] for c in failed["items"]] == [1, 3]
    assert failed["items"][0]["last_error_code"] == "NO_TEXT"
    assert failed["pagination"] == {"page": 1, "per_page": 50, "total": 2, "pages": 1}
    # The summary always counts every chunk, whatever the filter.
    assert failed["summary"]["pending"] == 3
    assert failed["summary"]["failed"] == 2
    assert failed["summary"]["success"] == 0


def test_chunk_list_of_an_unsplit_job_is_empty(
    client: FlaskClient, create_job: Callable[..., str], alice: dict[str, str]
) -> None:
    job_id = create_job(alice)

    body = client.get(f"/api/v1/jobs/{job_id}/chunks", headers=alice).get_json()

    assert body["items"] == []
    assert set(body["summary"]) == ALL_CHUNK_STATUSES
    assert sum(body["summary"].values()) == 0
    assert body["pagination"]["total"] == 0


# --- POST /chunks/retry ---------------------------------------------------------------


def retry(client: FlaskClient, job_id: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(f"/api/v1/jobs/{job_id}/chunks/retry", json=body, headers=headers)


def test_retry_of_unknown_chunk_ids_is_400_naming_them(
    client: FlaskClient, split_job_45: str, alice: dict[str, str], job_row: Callable[..., Any]
) -> None:
    details = assert_error(
        retry(client, split_job_45, alice, chunk_ids=[1, 7, 99]), 400, "INVALID_PARAMS"
    )

    assert details["unknown_chunk_ids"] == [7, 99]
    assert job_row(split_job_45)["round"] == 0


@pytest.mark.parametrize(
    "body", [{"chunk_ids": [-1]}, {"chunk_ids": "all"}, {"force": "maybe"}, {"extra": 1}]
)
def test_retry_with_a_malformed_body_is_400(
    client: FlaskClient, split_job_45: str, alice: dict[str, str], body: dict[str, Any]
) -> None:
    assert_error(retry(client, split_job_45, alice, **body), 400, "INVALID_PARAMS")


def test_retry_with_nothing_failed_is_409_nothing_to_retry(
    client: FlaskClient, split_job_45: str, alice: dict[str, str], job_row: Callable[..., Any]
) -> None:
    assert_error(retry(client, split_job_45, alice), 409, "NOTHING_TO_RETRY")
    assert_error(retry(client, split_job_45, alice, chunk_ids=[0]), 409, "NOTHING_TO_RETRY")
    assert job_row(split_job_45)["round"] == 0


def test_retry_of_failed_chunks_reschedules_them_in_a_new_round(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    chunk_rows: Callable[..., Any],
    job_row: Callable[..., Any],
    audit_rows: Callable[..., Any],
) -> None:
    set_chunks(
        split_job_45,
        [1, 3],
        status="failed",
        attempts=3,
        lost_deliveries=2,
        last_error_code="LLM_TIMEOUT",
        last_error="timed out",
        error_retryable=True,
    )
    set_chunks(split_job_45, [0, 2, 4], status="success", result_json={"sentences": []})

    response = retry(client, split_job_45, alice)

    assert response.status_code == 202
    assert response.get_json() == {
        "job_id": split_job_45,
        "retried_count": 2,
        "chunk_ids": [1, 3],
        "round": 1,
    }
    rows = {r["chunk_id"]: r for r in chunk_rows(split_job_45)}
    for chunk_id in (1, 3):
        assert rows[chunk_id]["status"] == "retry_scheduled"
        # attempts (the outcome's fencing token) keeps counting; the delivery cap restarts.
        assert rows[chunk_id]["attempts"] == 3
        assert rows[chunk_id]["lost_deliveries"] == 0
        assert rows[chunk_id]["last_error_code"] is None
        assert rows[chunk_id]["last_error"] is None
    assert {rows[c]["status"] for c in (0, 2, 4)} == {"success"}
    job = job_row(split_job_45)
    assert job["status"] == "processing"
    assert job["round"] == 1
    logs = audit_rows(split_job_45)
    assert [log["action"] for log in logs] == ["retry"]
    assert logs[0]["details"]["chunk_ids"] == [1, 3]
    assert logs[0]["details"]["round"] == 1
    assert logs[0]["user_id"] is not None


def test_retry_of_named_chunks_leaves_other_failed_chunks_alone(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    chunk_rows: Callable[..., Any],
) -> None:
    set_chunks(split_job_45, [1, 3], status="failed", last_error_code="NO_TEXT")

    response = retry(client, split_job_45, alice, chunk_ids=[3])

    assert response.status_code == 202
    assert response.get_json()["chunk_ids"] == [3]
    statuses = {r["chunk_id"]: r["status"] for r in chunk_rows(split_job_45)}
    assert statuses[1] == "failed"
    assert statuses[3] == "retry_scheduled"


def test_forced_retry_reruns_a_successful_chunk_and_unforced_is_409(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    chunk_rows: Callable[..., Any],
) -> None:
    set_chunks(split_job_45, [2], status="success", result_json={"sentences": []})

    assert_error(retry(client, split_job_45, alice, chunk_ids=[2]), 409, "NOTHING_TO_RETRY")
    response = retry(client, split_job_45, alice, chunk_ids=[2], force=True)

    assert response.status_code == 202
    assert response.get_json()["chunk_ids"] == [2]
    assert response.get_json()["round"] == 1
    assert chunk_rows(split_job_45)[2]["status"] == "retry_scheduled"


def test_retry_of_a_completed_job_reopens_it(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    app: APIFlask,
    succeed_chunks: Callable[..., None],
    job_row: Callable[..., Any],
) -> None:
    from backend.services.finalize import finalize_job

    succeed_chunks(split_job_45)
    with app.app_context():
        assert finalize_job(split_job_45, 0) == "completed"

    response = retry(client, split_job_45, alice, chunk_ids=[0], force=True)

    assert response.status_code == 202
    job = job_row(split_job_45)
    assert job["status"] == "processing"
    assert job["round"] == 1
    assert job["finished_at"] is None


def test_retry_of_a_queued_job_is_409_job_state_conflict(
    client: FlaskClient, create_job: Callable[..., str], alice: dict[str, str]
) -> None:
    job_id = create_job(alice)

    assert_error(retry(client, job_id, alice), 409, "JOB_STATE_CONFLICT")


# --- cancel and delete ----------------------------------------------------------------


def test_cancel_of_a_processing_job_cancels_pending_chunks(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    chunk_rows: Callable[..., Any],
    job_row: Callable[..., Any],
    audit_rows: Callable[..., Any],
) -> None:
    set_chunks(split_job_45, [0], status="success", result_json={"sentences": []})
    set_chunks(split_job_45, [1], status="processing")

    response = client.post(f"/api/v1/jobs/{split_job_45}/cancel", headers=alice)

    assert response.status_code == 202
    assert response.get_json()["job_id"] == split_job_45
    statuses = [r["status"] for r in chunk_rows(split_job_45)]
    # A running chunk finishes or notices the flag itself; the rest never start.
    assert statuses == ["success", "processing", "cancelled", "cancelled", "cancelled"]
    job = job_row(split_job_45)
    assert job["cancel_requested_at"] is not None
    assert job["status"] == "processing"
    assert [log["action"] for log in audit_rows(split_job_45)] == ["cancel"]


def test_cancel_of_a_queued_job_cancels_it_at_once(
    client: FlaskClient, create_job: Callable[..., str], alice: dict[str, str]
) -> None:
    job_id = create_job(alice)

    response = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)

    assert response.status_code == 202
    assert response.get_json() == {"job_id": job_id, "status": "cancelled"}
    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()
    assert job["status"] == "cancelled"
    assert job["cancel_requested_at"] is not None
    assert job["finished_at"] is not None


def test_split_after_cancel_does_nothing(
    client: FlaskClient,
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    chunk_rows: Callable[..., Any],
) -> None:
    job_id = create_job(alice, pages=30)
    client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)

    assert split(job_id) == "cancelled"

    assert chunk_rows(job_id) == []


def test_cancel_of_a_cancelled_job_is_409_job_state_conflict(
    client: FlaskClient, create_job: Callable[..., str], alice: dict[str, str]
) -> None:
    job_id = create_job(alice)
    client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)

    details = assert_error(
        client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice), 409, "JOB_STATE_CONFLICT"
    )

    assert details["status"] == "cancelled"


def test_delete_removes_job_chunks_and_files(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    app: APIFlask,
    chunk_rows: Callable[..., Any],
    audit_rows: Callable[..., Any],
) -> None:
    job_dir: Path = app.extensions["quire_blobs"].root / "jobs" / split_job_45
    assert (job_dir / "source.pdf").exists()

    response = client.delete(f"/api/v1/jobs/{split_job_45}", headers=alice)

    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(client.get(f"/api/v1/jobs/{split_job_45}", headers=alice), 404, "NOT_FOUND")
    assert chunk_rows(split_job_45) == []
    assert not job_dir.exists()
    assert client.get("/api/v1/jobs", headers=alice).get_json()["items"] == []
    # The trail outlives the job: a running job is cancelled, then deleted.
    assert [log["action"] for log in audit_rows(split_job_45)] == ["cancel", "delete"]
    assert_error(client.delete(f"/api/v1/jobs/{split_job_45}", headers=alice), 404, "NOT_FOUND")


# --- hostile PDFs ---------------------------------------------------------------------


def split_uploaded(
    client: FlaskClient, headers: dict[str, str], split: Callable[[str], str], pdf: bytes
) -> str:
    response = upload(client, headers, pdf, name="hostile.pdf")
    assert response.status_code == 202, response.get_json()
    job_id: str = response.get_json()["job_id"]
    assert split(job_id) == "failed"
    return job_id


def test_split_of_an_encrypted_pdf_fails_the_job_with_encrypted_pdf(
    client: FlaskClient,
    alice: dict[str, str],
    split: Callable[[str], str],
    chunk_rows: Callable[..., Any],
) -> None:
    pdf = (CORPUS / "pypdf__encrypted-file.pdf").read_bytes()

    job_id = split_uploaded(client, alice, split, pdf)

    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "ENCRYPTED_PDF"
    assert "password" in job["error"]["message"]
    assert job["finished_at"] is not None
    assert chunk_rows(job_id) == []
    assert_error(client.get(f"/api/v1/jobs/{job_id}/result", headers=alice), 409, "JOB_NOT_READY")


@pytest.mark.parametrize(
    "pdf",
    [
        (CORPUS / "qpdf__c-empty.pdf").read_bytes(),
        b"%PDF-1.7\n" + b"this is not really a pdf\n" * 50,
        b"%PDF-1.4\n%%EOF\n",
        blank_pdf(3)[:200],
    ],
    ids=["zero-pages", "garbage-after-magic", "header-only", "truncated"],
)
def test_split_of_an_unreadable_pdf_fails_the_job_with_invalid_pdf(
    client: FlaskClient,
    alice: dict[str, str],
    split: Callable[[str], str],
    chunk_rows: Callable[..., Any],
    pdf: bytes,
) -> None:
    job_id = split_uploaded(client, alice, split, pdf)

    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "INVALID_PDF"
    assert job["error"]["message"]
    assert chunk_rows(job_id) == []


def test_split_of_a_job_whose_upload_vanished_fails_with_blob_missing(
    client: FlaskClient,
    create_job: Callable[..., str],
    alice: dict[str, str],
    split: Callable[[str], str],
    app: APIFlask,
) -> None:
    job_id = create_job(alice)
    app.extensions["quire_blobs"].delete(f"jobs/{job_id}/source.pdf")

    assert split(job_id) == "failed"

    error = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()["error"]
    assert error["code"] == "BLOB_MISSING"


def test_two_concurrent_retries_open_exactly_one_round(
    app: APIFlask,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    job_row: Callable[..., Any],
    audit_rows: Callable[..., Any],
) -> None:
    set_chunks(split_job_45, [1, 3], status="failed", last_error_code="LLM_TIMEOUT")
    barrier = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def post_retry() -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        response = retry(client, split_job_45, alice)
        with lock:
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=post_retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [202, 409], answers
    loser = next(body for status, body in answers if status == 409)
    assert loser["error"]["code"] in {"JOB_STATE_CONFLICT", "NOTHING_TO_RETRY"}
    assert job_row(split_job_45)["round"] == 1
    assert [log["action"] for log in audit_rows(split_job_45)] == ["retry"]


def test_retry_of_a_cancelled_job_is_409_job_state_conflict(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    app: APIFlask,
) -> None:
    from backend.services.finalize import finalize_job

    set_chunks(split_job_45, [0], status="failed", last_error_code="NO_TEXT")
    client.post(f"/api/v1/jobs/{split_job_45}/cancel", headers=alice)
    with app.app_context():
        assert finalize_job(split_job_45, 0) == "cancelled"

    assert_error(retry(client, split_job_45, alice), 409, "JOB_STATE_CONFLICT")


def test_retry_while_cancelling_is_409_and_changes_nothing(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    chunk_rows: Callable[..., Any],
    job_row: Callable[..., Any],
) -> None:
    set_chunks(split_job_45, [0], status="failed", last_error_code="LLM_TIMEOUT")
    set_chunks(split_job_45, [1], status="processing")
    client.post(f"/api/v1/jobs/{split_job_45}/cancel", headers=alice)
    before = chunk_rows(split_job_45)

    assert_error(retry(client, split_job_45, alice), 409, "JOB_STATE_CONFLICT")
    assert_error(
        retry(client, split_job_45, alice, chunk_ids=[0], force=True), 409, "JOB_STATE_CONFLICT"
    )

    assert chunk_rows(split_job_45) == before
    assert job_row(split_job_45)["round"] == 0


def test_second_cancel_of_a_cancelling_job_is_409(
    client: FlaskClient,
    split_job_45: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    audit_rows: Callable[..., Any],
) -> None:
    set_chunks(split_job_45, [1], status="processing")
    assert client.post(f"/api/v1/jobs/{split_job_45}/cancel", headers=alice).status_code == 202

    response = client.post(f"/api/v1/jobs/{split_job_45}/cancel", headers=alice)

    assert_error(response, 409, "JOB_STATE_CONFLICT")
    assert [log["action"] for log in audit_rows(split_job_45)] == ["cancel"]


def test_split_whose_worker_died_is_taken_over_once_its_lease_expired(
    app: APIFlask,
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    chunk_rows: Callable[..., Any],
) -> None:
    job_id = create_job(alice, pages=12, pages_per_chunk=5)
    set_job(app, job_id, status="splitting", lease_expires_at=utcnow() - timedelta(seconds=1))

    assert split(job_id) == "processing"

    assert len(chunk_rows(job_id)) == 3


def test_split_held_by_a_live_worker_is_not_taken_twice(
    app: APIFlask,
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    chunk_rows: Callable[..., Any],
) -> None:
    job_id = create_job(alice, pages=12, pages_per_chunk=5)
    set_job(app, job_id, status="splitting", lease_expires_at=utcnow() + timedelta(minutes=5))

    assert split(job_id) == "splitting"

    assert chunk_rows(job_id) == []


def set_job(app: APIFlask, job_id: str, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(**values))
        db.session.commit()
