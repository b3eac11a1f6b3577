"""Cancel while a chunk waits for the fleet's rate limiter, on real Postgres, step by step.

The limiter is replaced by a gate the test drives, so the order of events is
the test's: the chunk is claimed and waiting, the cancel commits, then the wait
ends (released, or noticed by the gate's ``should_stop`` check). No processor
call may start, the chunk ends ``cancelled`` and finalize cancels the job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from apiflask import APIFlask
from flask.testing import FlaskClient

from backend.services import llm_limiter, process
from backend.services.finalize import finalize_job
from tests.conftest import chunk_rows
from tests.fakes.processors import Script

pytestmark = pytest.mark.integration


class DrivenGate:
    """Blocks in ``acquire`` until released, or until ``should_stop`` (polled) is True."""

    def __init__(self, honour_should_stop: bool) -> None:
        self.honour_should_stop = honour_should_stop
        self.entered = threading.Event()
        self.release = threading.Event()
        self.stop_checks = 0

    def acquire(self, should_stop: Callable[[], bool] | None = None) -> float:
        self.entered.set()
        while not self.release.wait(0.02):
            if self.honour_should_stop and should_stop is not None:
                self.stop_checks += 1
                if should_stop():
                    raise llm_limiter.WaitAborted()
        return 0.0

    def debit(self, tokens: int) -> None:
        pass

    def drain(self) -> None:
        pass


@pytest.mark.parametrize("noticed", ["after the wait", "during the wait"])
def test_cancel_during_a_limiter_wait_starts_no_call_and_the_job_ends_cancelled(
    app: APIFlask,
    client: FlaskClient,
    alice: dict[str, str],
    create_job: Callable[..., str],
    split: Callable[[str], str],
    script: Script,
    monkeypatch: pytest.MonkeyPatch,
    noticed: str,
) -> None:
    gate = DrivenGate(honour_should_stop=noticed == "during the wait")
    monkeypatch.setattr(llm_limiter, "gate_for", lambda processor, settings: gate)
    job_id = create_job(alice, pages=6, pages_per_chunk=2, overlap_pages=0, processor="scripted")
    split(job_id)
    first = chunk_rows(app, job_id)[0]
    outcome: dict[str, Any] = {}

    def work() -> None:
        with app.app_context():
            outcome.update(process.process_chunk(first.id))

    worker = threading.Thread(target=work)
    worker.start()
    assert gate.entered.wait(10), "the chunk never reached the limiter"
    assert chunk_rows(app, job_id)[0].status == "processing"

    response = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=alice)
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "processing"  # cancelling: a chunk is running
    if noticed == "after the wait":
        gate.release.set()
    worker.join(10)
    gate.release.set()  # never leave the thread behind, whatever failed
    assert not worker.is_alive()

    assert outcome == {"chunk": first.id, "status": "cancelled"}
    assert script.total_calls() == 0
    if noticed == "during the wait":
        assert gate.stop_checks >= 1
    assert [row.status for row in chunk_rows(app, job_id)] == ["cancelled"] * 3
    # What the chord's body does once the last chunk task returned.
    with app.app_context():
        assert finalize_job(job_id, 0) == "cancelled"
    job = client.get(f"/api/v1/jobs/{job_id}", headers=alice).get_json()
    assert (job["status"], job["step"]) == ("cancelled", "cancelled")
