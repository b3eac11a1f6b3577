"""processor=gemini through real Redis, Postgres and a worker, against the fake Gemini server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from backend.pipeline.processors import configure_gemini
from backend.services import llm_limiter
from backend.services.processors import gemini_config
from backend.services.reconcile import reconcile
from tests.conftest import upload
from tests.e2e.conftest import wait_for
from tests.e2e.test_pipeline_e2e import chunk_rows, result
from tests.fakes.gemini_server import GeminiServer
from tests.unit.pipeline.helpers import text_pdf

pytestmark = pytest.mark.e2e

PAGES = 10
# One page per chunk; "MarqueurN" lets the fake server script chunk N alone.
BOOK = text_pdf(
    [
        [
            f"Marqueur{n} : la pluie tombait sur le port depuis le matin, et les",
            "marins attendaient en silence que le vent tourne enfin vers la mer.",
        ]
        for n in range(PAGES)
    ]
)


@pytest.fixture(scope="module")
def server() -> Iterator[GeminiServer]:
    running = GeminiServer().start()
    yield running
    running.close()


@pytest.fixture
def fake(e2e_app: APIFlask, server: GeminiServer) -> Iterator[GeminiServer]:
    """Gemini enabled on the running app and its worker, pointed at the fake server."""
    settings = replace(
        e2e_app.extensions["quire_settings"],
        gemini_api_key="fake-key",
        gemini_model="fake-flash",
        gemini_base_url=server.url,
        gemini_timeout_seconds=1.0,
    )
    server.state.reset()
    configure_gemini(gemini_config(settings))
    yield server
    configure_gemini(None)
    server.state.reset()


def submit(client: FlaskClient, headers: dict[str, str]) -> str:
    response = upload(client, headers, BOOK, processor="gemini", pages_per_chunk=1, overlap_pages=0)
    assert response.status_code == 202, response.get_json()
    job_id: str = response.get_json()["job_id"]
    return job_id


def test_rate_limited_chunks_wait_the_retry_delay_and_complete_without_double_calls(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    for n in (2, 5, 7):
        fake.state.script(f"Marqueur{n} ", "429:1")
    started = time.monotonic()
    job_id = submit(e2e_client, user_headers)
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed", job
    assert job["retry_count"] == 1
    # The retry round honoured the server's 1 s retryDelay, not the 0.2 s backoff.
    assert time.monotonic() - started >= 1.0
    assert fake.state.total_requests() == PAGES + 3
    assert fake.state.double_answers() == 0
    assert job["usage"]["tokens_used"] > 0
    assert [r.attempts for r in chunk_rows(e2e_app, job_id)].count(2) == 3
    sentences = result(e2e_client, user_headers, job_id)["sentences"]
    assert [s["page"] for s in sentences if s["text"].startswith("Marqueur")] == list(
        range(1, PAGES + 1)
    )


def test_hung_call_times_out_and_is_retried(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    fake.state.script("Marqueur4 ", "hang")
    job_id = submit(e2e_client, user_headers)
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed", job
    chunk = chunk_rows(e2e_app, job_id)[4]
    assert chunk.attempts == 2
    assert fake.state.behaviours.count("hang") == 1
    assert fake.state.double_answers() == 0


def test_exhausted_quota_pauses_the_job_then_a_retry_completes_it(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    fake.state.script("Marqueur3 ", "quota")
    job_id = submit(e2e_client, user_headers)
    job = wait_for(e2e_client, user_headers, job_id, {"paused_quota", "completed", "failed"})
    assert job["status"] == "paused_quota", job
    assert job["error"]["code"] == "QUOTA_EXHAUSTED"
    assert job["retry_count"] == 0  # no automatic round was burnt on it
    rows = chunk_rows(e2e_app, job_id)
    assert [r.last_error_code for r in rows if r.status == "failed"] == ["QUOTA_EXHAUSTED"]

    response = e2e_client.post(f"/api/v1/jobs/{job_id}/chunks/retry", headers=user_headers)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["chunk_ids"] == [3]
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed", job
    assert job["error"] is None
    assert fake.state.total_requests() == PAGES + 1
    assert fake.state.double_answers() == 0


def test_second_identical_job_is_served_from_the_cache(
    e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    first = wait_for(e2e_client, user_headers, submit(e2e_client, user_headers))
    assert first["status"] == "completed", first
    assert first["usage"]["cache_hits"] == 0
    calls = fake.state.total_requests()
    assert calls == PAGES

    second_id = submit(e2e_client, user_headers)
    second = wait_for(e2e_client, user_headers, second_id)
    assert second["status"] == "completed", second
    assert fake.state.total_requests() == calls  # 0 API calls
    assert second["usage"] == {"tokens_used": 0, "cache_hits": PAGES}
    assert (
        result(e2e_client, user_headers, second_id)["sentences"]
        == result(e2e_client, user_headers, first["id"])["sentences"]
    )


def test_gemini_job_is_refused_at_submit_without_an_api_key(
    e2e_client: FlaskClient, user_headers: dict[str, str]
) -> None:
    configure_gemini(None)
    response = upload(e2e_client, user_headers, BOOK, processor="gemini")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "PROCESSOR_NOT_CONFIGURED"
    assert "GEMINI_API_KEY" in error["message"]


def test_paused_job_can_be_cancelled_at_once(
    e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    fake.state.script("Marqueur0 ", "quota")
    job_id = submit(e2e_client, user_headers)
    job = wait_for(e2e_client, user_headers, job_id, {"paused_quota", "completed", "failed"})
    assert job["status"] == "paused_quota", job
    response = e2e_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=user_headers)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    assert wait_for(e2e_client, user_headers, job_id)["status"] == "cancelled"


def test_fleet_limiter_keeps_requests_within_the_bucket(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    settings = e2e_app.extensions["quire_settings"]
    # 5 requests/s with a burst of 2, on a bucket in Redis shared by the worker's threads.
    e2e_app.extensions["quire_settings"] = replace(settings, gemini_rpm=300, gemini_burst=2)
    try:
        started = time.time()
        job = wait_for(e2e_client, user_headers, submit(e2e_client, user_headers))
    finally:
        e2e_app.extensions["quire_settings"] = settings
    assert job["status"] == "completed", job
    times = sorted(fake.state.times)
    assert len(times) == PAGES
    assert times[-1] - started >= (PAGES - 2) / 5 - 0.2
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t - start < 1.0) <= 2 + 5 + 1


def test_exhausted_quota_pauses_the_job_then_the_reconciler_resumes_it_after_the_window(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    fake.state.script("Marqueur3 ", "quota")  # once: the quota is back after the window
    job_id = submit(e2e_client, user_headers)
    job = wait_for(e2e_client, user_headers, job_id, {"paused_quota", "completed", "failed"})
    assert job["status"] == "paused_quota", job
    resume_at = datetime.fromisoformat(job["resume_at"])
    assert resume_at > datetime.now(UTC)
    with e2e_app.app_context():
        assert reconcile(resume_at - timedelta(seconds=1)).resumed_jobs == ()
        # Time travel: the reconciler's clock is past the quota window.
        assert reconcile(resume_at + timedelta(seconds=1)).resumed_jobs == (job_id,)
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed", job
    assert (job["error"], job["resume_at"], job["round"]) == (None, None, 1)
    assert fake.state.total_requests() == PAGES + 1
    assert fake.state.double_answers() == 0


def test_fallback_local_redoes_the_chunks_gemini_could_not_and_flags_them(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], fake: GeminiServer
) -> None:
    fake.state.script("Marqueur2 ", "lossy", "lossy")  # bad output on both of its rounds
    fake.state.script("Marqueur6 ", "safety")  # permanent for Gemini, not for local
    response = upload(
        e2e_client,
        user_headers,
        BOOK,
        processor="gemini",
        pages_per_chunk=1,
        overlap_pages=0,
        max_retries=1,
        fallback="local",
    )
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    job = wait_for(e2e_client, user_headers, job_id)
    assert job["status"] == "completed", job
    assert job["settings"]["fallback"] == "local"
    assert job["result"]["fallback_count"] == 2
    assert fake.state.total_requests() == PAGES + 1  # chunk 2 asked twice, chunk 6 once
    chunks = e2e_client.get(f"/api/v1/jobs/{job_id}/chunks", headers=user_headers).get_json()
    flagged = {c["chunk_id"]: c["fallback"] for c in chunks["items"] if c["fallback"]}
    assert flagged == {2: "local", 6: "local"}
    # The two refused lossy answers were paid for: chunk 2 carries their tokens.
    tokens = {c["chunk_id"]: c["tokens_used"] for c in chunks["items"]}
    assert tokens[2] > 2 * 100
    assert tokens[6] == 0  # a safety block bills nothing here (no usage in the answer)
    document = result(e2e_client, user_headers, job_id)
    assert document["fallback_chunks"] == [2, 6]
    marked = [s["page"] for s in document["sentences"] if s["text"].startswith("Marqueur")]
    assert marked == list(range(1, PAGES + 1))  # nothing missing


class BlockingGate:
    """A rate limiter whose waits last until the test releases them."""

    def __init__(self) -> None:
        self.waiting = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def acquire(self, should_stop: Any = None) -> float:
        # Ignores ``should_stop``: this test proves the check made after the wait.
        with self.lock:
            self.waiting += 1
        self.release.wait(30)
        return 0.0

    def debit(self, tokens: int) -> None:
        pass

    def drain(self) -> None:
        pass


def test_cancel_during_a_rate_limiter_wait_makes_no_call_and_cancels_the_job(
    e2e_app: APIFlask,
    e2e_client: FlaskClient,
    user_headers: dict[str, str],
    fake: GeminiServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gate = BlockingGate()
    monkeypatch.setattr(llm_limiter, "gate_for", lambda processor, settings: gate)
    job_id = submit(e2e_client, user_headers)
    deadline = time.monotonic() + 20
    while gate.waiting < 4:  # every worker thread holds a claimed chunk in the wait
        assert time.monotonic() < deadline, f"{gate.waiting} chunks reached the limiter"
        time.sleep(0.01)

    response = e2e_client.post(f"/api/v1/jobs/{job_id}/cancel", headers=user_headers)
    assert response.status_code == 202, response.get_json()
    gate.release.set()

    job = wait_for(e2e_client, user_headers, job_id, timeout=30)
    assert job["status"] == "cancelled", job
    assert job["progress"]["chunks"]["cancelled"] == PAGES
    assert fake.state.total_requests() == 0  # no call started after the cancel
