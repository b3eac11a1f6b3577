"""GET /jobs/{id}/events with a real worker: ordered progress, then the end of the stream."""

from __future__ import annotations

from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from backend.cli.sse import Event, lines_of, parse_events
from backend.services.progress import hub_for
from tests.conftest import blank_pdf, upload
from tests.fakes.processors import Script

pytestmark = pytest.mark.e2e


def read_stream(client: FlaskClient, url: str, headers: dict[str, str]) -> list[Event]:
    response = client.get(url, headers=headers, buffered=False)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    try:
        return list(parse_events(lines_of(response.response)))
    finally:
        response.close()


def test_client_receives_ordered_progress_and_the_stream_closes_when_the_job_ends(
    e2e_app: APIFlask, e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    # Five chunks, one at a time slow enough for the poller to see each one land;
    # chunk 2 fails once (transient) so the job passes through an automatic round.
    script.plan = {i: ["sleep:0.6"] for i in range(5)}
    script.plan[2] = ["transient"]
    accepted = upload(
        e2e_client,
        user_headers,
        blank_pdf(10),
        pages_per_chunk=2,
        overlap_pages=0,
        processor="scripted",
    )
    assert accepted.status_code == 202
    job_id = accepted.get_json()["job_id"]

    events = read_stream(e2e_client, f"/api/v1/jobs/{job_id}/events", user_headers)

    progress = [e for e in events if e.event == "progress"]
    assert events[-1].event == "end"
    assert events[-1].json() == {"job_id": job_id, "status": "completed"}
    assert len(progress) >= 3, events
    ids = [int(e.id or 0) for e in progress]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    snapshots: list[dict[str, Any]] = [e.json() for e in progress]
    successes = [s["progress"]["chunks"]["success"] for s in snapshots if "progress" in s]
    assert successes == sorted(successes), "success count went backwards"
    assert successes[-1] == 5
    final = snapshots[-1]
    assert final["status"] == "completed"
    assert final["progress"] == {
        "total": 5,
        "done": 5,
        "percent": 100.0,
        "chunks": {
            "pending": 0,
            "processing": 0,
            "success": 5,
            "failed": 0,
            "retry_scheduled": 0,
            "cancelled": 0,
        },
    }
    assert final["eta_seconds"] == 0.0
    assert final["retry_count"] == 1
    assert {s["status"] for s in snapshots} >= {"processing", "completed"}
    midway = [s for s in snapshots if 0 < s["progress"]["done"] < 5 and s["status"] != "retrying"]
    assert midway, snapshots
    assert all(s["eta_seconds"] > 0 for s in midway)
    # The stream gave its slot back.
    assert hub_for(e2e_app).open_streams == 0


def test_stream_of_a_finished_job_sends_its_final_state_and_ends_at_once(
    e2e_client: FlaskClient, user_headers: dict[str, str], script: Script
) -> None:
    script.plan = {0: ["permanent"]}
    accepted = upload(
        e2e_client, user_headers, blank_pdf(4), pages_per_chunk=2, processor="scripted"
    )
    job_id = accepted.get_json()["job_id"]
    first = read_stream(e2e_client, f"/api/v1/jobs/{job_id}/events", user_headers)
    assert first[-1].json()["status"] == "partial"

    again = read_stream(e2e_client, f"/api/v1/jobs/{job_id}/events", user_headers)

    assert [e.event for e in again] == ["progress", "end"]
    snapshot = again[0].json()
    assert snapshot["status"] == "partial"
    assert snapshot["error"]["code"] == "PARTIAL_RESULT"
    assert snapshot["progress"]["chunks"]["failed"] == 1
