"""finalize_job on real Postgres: merge, partial, waiting, retry rounds, exactly-once.

Chunks come from the real split service and are then set to what a worker would
have recorded; the result is read back through GET /jobs/{id}/result.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient
from werkzeug.http import parse_options_header

from backend.services import finalize
from backend.services.finalize import finalize_job
from tests.integration.conftest import assert_error

pytestmark = pytest.mark.integration


@pytest.fixture
def job_25(
    create_job: Callable[..., str], split: Callable[[str], str], alice: dict[str, str]
) -> str:
    """Alice's 25-page job, split into 3 chunks: pages 1-10, 11-20, 21-25."""
    job_id = create_job(alice, pages=25, pages_per_chunk=10, overlap_pages=1, name="roman.pdf")
    assert split(job_id) == "processing"
    return job_id


@pytest.fixture
def run_finalize(app: APIFlask) -> Callable[..., str]:
    def _run(job_id: str, round_no: int = 0) -> str:
        with app.app_context():
            return finalize_job(job_id, round_no)

    return _run


def result(client: FlaskClient, job_id: str, headers: dict[str, str], fmt: str = "json") -> Any:
    response = client.get(f"/api/v1/jobs/{job_id}/result?format={fmt}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response


def test_all_chunks_succeeded_completes_with_sentences_in_page_order(
    client: FlaskClient,
    job_25: str,
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    # Chunks finish in any order; the merge is in page order all the same.
    succeed_chunks(job_25, [2])
    succeed_chunks(job_25, [0])
    succeed_chunks(job_25, [1])

    assert run_finalize(job_25) == "completed"

    response = result(client, job_25, alice)
    assert response.mimetype == "application/json"
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options) == ("attachment", {"filename": "roman.json"})
    document = response.get_json()
    assert [s["text"] for s in document["sentences"]] == [f"page {n}" for n in range(1, 26)]
    assert [s["page"] for s in document["sentences"]] == list(range(1, 26))
    assert document["status"] == "completed"
    assert document["missing_pages"] == []
    assert document["failed_chunks"] == []
    assert document["page_count"] == 25
    job = client.get(f"/api/v1/jobs/{job_25}", headers=alice).get_json()
    assert job["status"] == "completed"
    assert job["error"] is None
    assert job["finished_at"] is not None
    assert job["result"]["sentence_count"] == 25
    assert job["result"]["missing_pages"] == []
    assert job["progress"]["percent"] == 100.0


def test_result_as_txt_is_one_sentence_per_line(
    client: FlaskClient,
    job_25: str,
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    succeed_chunks(job_25)
    run_finalize(job_25)

    response = result(client, job_25, alice, "txt")

    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True).splitlines() == [f"page {n}" for n in range(1, 26)]


def test_result_as_csv_has_index_page_sentence_columns(
    client: FlaskClient,
    job_25: str,
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    succeed_chunks(job_25)
    run_finalize(job_25)

    response = result(client, job_25, alice, "csv")

    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["index", "page", "sentence"]
    assert rows[1:] == [[str(n), str(n), f"page {n}"] for n in range(1, 26)]


def test_csv_quotes_commas_quotes_and_newlines_in_sentences(
    client: FlaskClient,
    job_25: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    tricky = 'Il dit : « Non, "jamais" »,\net partit.'
    set_chunks(
        job_25,
        [0, 1, 2],
        status="success",
        result_json={"sentences": [], "pages_without_text": [], "metadata": {}},
    )
    set_chunks(
        job_25,
        [0],
        result_json={"sentences": [{"text": tricky, "page": 3}], "metadata": {}},
    )
    run_finalize(job_25)

    response = result(client, job_25, alice, "csv")

    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["index", "page", "sentence"], ["1", "3", tricky]]


def test_a_permanently_failed_chunk_makes_a_partial_result_naming_its_pages(
    client: FlaskClient,
    job_25: str,
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    set_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    succeed_chunks(job_25, [0, 2])
    set_chunks(
        job_25,
        [1],
        status="failed",
        error_retryable=False,
        last_error_code="NO_TEXT",
        last_error="pages 11-20 contain no extractable text",
    )

    assert run_finalize(job_25) == "partial"

    document = result(client, job_25, alice).get_json()
    assert document["status"] == "partial"
    assert document["missing_pages"] == list(range(11, 21))
    assert document["missing_page_ranges"] == "11-20"
    assert [s["page"] for s in document["sentences"]] == [*range(1, 11), *range(21, 26)]
    assert document["failed_chunks"] == [
        {
            "chunk_id": 1,
            "pages": [11, 20],
            "error_code": "NO_TEXT",
            "error": "pages 11-20 contain no extractable text",
        }
    ]
    job = client.get(f"/api/v1/jobs/{job_25}", headers=alice).get_json()
    assert job["status"] == "partial"
    assert job["result"]["missing_pages"] == list(range(11, 21))
    assert job["result"]["failed_chunks"] == 1
    assert job["result"]["sentence_count"] == 15
    assert "11-20" in job["error"]["message"]
    text = result(client, job_25, alice, "txt").get_data(as_text=True)
    assert text.splitlines()[0] == "# partial result: pages 11-20 are missing"


def test_all_chunks_failed_fails_the_job_with_their_error_code(
    client: FlaskClient,
    job_25: str,
    alice: dict[str, str],
    set_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    set_chunks(job_25, [0, 1, 2], status="failed", last_error_code="NO_TEXT", last_error="scan")

    assert run_finalize(job_25) == "failed"

    job = client.get(f"/api/v1/jobs/{job_25}", headers=alice).get_json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "NO_TEXT"
    assert_error(client.get(f"/api/v1/jobs/{job_25}/result", headers=alice), 409, "JOB_NOT_READY")


@pytest.mark.parametrize("unfinished", ["pending", "processing", "retry_scheduled"])
def test_an_unfinished_chunk_makes_finalize_wait_and_change_nothing(
    job_25: str,
    succeed_chunks: Callable[..., None],
    set_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
    job_row: Callable[..., Any],
    unfinished: str,
) -> None:
    succeed_chunks(job_25)
    set_chunks(job_25, [2], status=unfinished)
    before = job_row(job_25)

    assert run_finalize(job_25) == "waiting"

    assert job_row(job_25) == before


def test_a_retryable_failure_with_rounds_left_schedules_a_retry_round(
    job_25: str,
    succeed_chunks: Callable[..., None],
    set_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
    job_row: Callable[..., Any],
    chunk_rows: Callable[..., Any],
) -> None:
    succeed_chunks(job_25, [0, 1])
    set_chunks(job_25, [2], status="failed", error_retryable=True, last_error_code="RATE_LIMITED")

    assert run_finalize(job_25) == "retrying"

    rows = chunk_rows(job_25)
    assert [r["status"] for r in rows] == ["success", "success", "retry_scheduled"]
    job = job_row(job_25)
    assert job["status"] == "retrying"
    assert job["retry_count"] == 1
    assert job["round"] == 1
    assert job["result_key"] is None
    # The old round is spent: a late duplicate of its finalize does nothing.
    assert run_finalize(job_25, 0) == "waiting"


def test_retry_rounds_stop_at_max_retries_and_the_job_ends_partial(
    job_25: str,
    succeed_chunks: Callable[..., None],
    set_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
    job_row: Callable[..., Any],
) -> None:
    succeed_chunks(job_25, [0, 1])
    outcomes = []
    for round_no in range(4):
        set_chunks(
            job_25, [2], status="failed", error_retryable=True, last_error_code="LLM_TIMEOUT"
        )
        outcomes.append(run_finalize(job_25, round_no))

    assert outcomes == ["retrying", "retrying", "retrying", "partial"]
    job = job_row(job_25)
    assert job["retry_count"] == 3
    assert job["round"] == 3
    assert job["status"] == "partial"


def test_with_max_retries_zero_a_retryable_failure_is_final(
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    set_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    job_id = create_job(alice, pages=20, pages_per_chunk=10, max_retries=0)
    split(job_id)
    succeed_chunks(job_id, [0])
    set_chunks(job_id, [1], status="failed", error_retryable=True, last_error_code="LLM_TIMEOUT")

    assert run_finalize(job_id) == "partial"


def test_second_finalize_is_a_noop(
    job_25: str,
    succeed_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
    job_row: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    succeed_chunks(job_25)
    assert run_finalize(job_25) == "completed"
    after_first = job_row(job_25)
    merges: list[str] = []
    monkeypatch.setattr(finalize, "_merge", lambda job: merges.append(job.id) or "merged")

    assert run_finalize(job_25) == "completed"

    assert merges == []
    assert job_row(job_25) == after_first


def test_finalize_of_a_cancel_requested_job_cancels_it(
    client: FlaskClient,
    job_25: str,
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    succeed_chunks(job_25, [0])
    assert client.post(f"/api/v1/jobs/{job_25}/cancel", headers=alice).status_code == 202

    assert run_finalize(job_25) == "cancelled"

    job = client.get(f"/api/v1/jobs/{job_25}", headers=alice).get_json()
    assert job["status"] == "cancelled"
    assert job["finished_at"] is not None


def test_finalize_of_a_missing_job_says_so(run_finalize: Callable[..., str]) -> None:
    assert run_finalize("00000000-0000-0000-0000-000000000000") == "missing"


def test_two_concurrent_finalizes_merge_exactly_once(
    app: APIFlask,
    job_25: str,
    succeed_chunks: Callable[..., None],
    job_row: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    succeed_chunks(job_25)
    real_merge = finalize._merge
    merges: list[str] = []
    lock = threading.Lock()

    def counting_merge(job: Any) -> str:
        with lock:
            merges.append(job.id)
        return real_merge(job)

    monkeypatch.setattr(finalize, "_merge", counting_merge)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                outcome = finalize_job(job_25, 0)
            with lock:
                outcomes.append(outcome)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert merges == [job_25]
    assert "completed" in outcomes
    assert len(outcomes) == 2
    assert set(outcomes) <= {"completed", "skipped"}
    job = job_row(job_25)
    assert job["status"] == "completed"
    assert job["finalized_round"] == 0


def test_result_download_name_survives_a_non_latin1_filename(
    client: FlaskClient,
    create_job: Callable[..., str],
    split: Callable[[str], str],
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
) -> None:
    job_id = create_job(alice, pages=2, name="L’Étranger.pdf")
    split(job_id)
    succeed_chunks(job_id)
    run_finalize(job_id)

    response = result(client, job_id, alice, "txt")

    header = response.headers["Content-Disposition"]
    header.encode("latin-1")  # what every WSGI server does with a header value
    assert "filename*=UTF-8''L%E2%80%99%C3%89tranger.txt" in header


def test_result_whose_file_vanished_is_500_blob_missing(
    client: FlaskClient,
    app: APIFlask,
    job_25: str,
    alice: dict[str, str],
    succeed_chunks: Callable[..., None],
    run_finalize: Callable[..., str],
    job_row: Callable[..., Any],
) -> None:
    succeed_chunks(job_25)
    run_finalize(job_25)
    app.extensions["quire_blobs"].delete(job_row(job_25)["result_key"])

    response = client.get(f"/api/v1/jobs/{job_25}/result", headers=alice)

    assert_error(response, 500, "BLOB_MISSING")
